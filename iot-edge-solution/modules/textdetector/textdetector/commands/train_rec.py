"""`train-rec`: fine-tune the recogniser on a labelled line-crop dataset (CPU, torch)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..config import LOCAL_DATA, RecognizerSettings, load
from ..errors import ConfigError
from ..models import MODEL_SETS

DESCRIPTION = """\
Fine-tune the current model set's text recogniser (MODEL_SET; PP-OCRv6 small by default)
from its shipped weights on a dataset of labelled line crops: DIR/train.txt and
DIR/val.txt, one `<crop path relative to DIR><TAB><text>` line per crop (PaddleOCR's
recognition label format, as the review dashboard exports it). Camera-like augmentation,
CTC loss, AdamW, early stopping on the val split's exact lines, checkpoints beside OUT
(--resume continues an interrupted run). OUT receives model.onnx (the dictionary in its
metadata) and manifest.json only after the export was shown to pick the same classes as
the trained model on ONNX Runtime and OpenVINO. Use it with REC_MODEL_DIR=OUT after the
gates (python -m textdetector.training.gate). Needs the train extra
(requirements-train.txt: torch, onnx)."""


def add_train_rec_parser(commands: Any) -> None:
    """Register the `train-rec` command."""
    from ..training.trainer_options import add_options

    parser = commands.add_parser(
        "train-rec",
        help="fine-tune the recogniser on labelled line crops",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="dataset folder")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="OUTDIR", help="model folder to create"
    )
    parser.add_argument(
        "--model-set",
        choices=tuple(MODEL_SETS),
        default=None,
        help="model set whose recogniser is fine-tuned [env MODEL_SET; default ppocrv6]",
    )
    add_options(parser)
    parser.set_defaults(handler=train_rec_command)


def train_rec_command(args: argparse.Namespace) -> int:
    from ..training.run import Job
    from ..training.trainer_options import hyper_of

    model_set = args.model_set or load(RecognizerSettings).model_set
    base = LOCAL_DATA / MODEL_SETS[model_set].rec.name
    job = Job(args.data, args.out, base, args.add_chars, args.resume)
    hyper = hyper_of(args)
    try:
        from ..training.run import train_rec
    except ImportError as exc:
        raise ConfigError(
            f"train-rec needs the train extra ({exc.name} is missing): "
            "pip install -r requirements-train.txt"
        ) from None
    manifest = train_rec(job, hyper)
    figures = manifest["figures"]
    print(
        f"wrote {args.out}: val exact lines {figures['val_exact_stock']:.3f} (stock) -> "
        f"{figures['val_exact']:.3f} after {figures['steps']} steps "
        f"({figures['train_seconds']:.0f} s; weights merged back at alpha "
        f"{manifest['merge']['alpha']:.1f}); export matches on "
        + ", ".join(manifest["export_check"])
    )
    if args.json:
        print(json.dumps(manifest["figures"], indent=2))
    return 0
