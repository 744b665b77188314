"""`train-det`: fine-tune the text detector on labelled frames (CPU, torch)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from ..config import LOCAL_DATA
from ..errors import ConfigError
from ..models import DET_MODELS

log = logging.getLogger(__name__)
LOG_EVERY = 50  # steps between progress lines when stderr is not a terminal

DESCRIPTION = """\
Fine-tune the PP-OCRv6 small text detector (DET_MODEL=ppocrv6) from its shipped weights
on labelled images: DIR/detection/det_labels.txt (or DIR/det_labels.txt), one
`<image path><TAB>[{"transcription": ..., "points": [[x, y], ...]}, ...]` line per image
(PaddleOCR's detection label format, as the review dashboard exports it; "###" marks a
region to ignore; boxes drawn as the detector draws them, a margin around the ink). One
image in five (by a hash of its name) is held out as val. Training views are cut at the
policy's scale (short side about 736), the DB shrink-map loss is taken on the labelled
text, and the shipped model's own map is kept elsewhere (text nobody labelled is not
taught as background); the weights are then merged back towards the shipped ones
(--merge, --alpha). OUT receives model.onnx and manifest.json only when the export
matches the trained model on ONNX Runtime and the fine-tuned model finds the val regions
better than the shipped one (F1, regions matched one to one by DetEval's area rule,
detected as the module detects a frame); else exit 1 and nothing is written. Then run
its gates (python -m textdetector.training.gate OUT --data DIR) and use it with
DET_MODEL_DIR=OUT. Needs the train extra (requirements-train.txt)."""


def add_train_det_parser(commands: Any) -> None:
    """Register the `train-det` command."""
    from ..training.hyper import DetHyper

    defaults = DetHyper()
    parser = commands.add_parser(
        "train-det",
        help="fine-tune the detector on labelled frames",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="dataset folder")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="OUTDIR", help="model folder to create"
    )
    add = parser.add_argument
    add("--steps", type=int, default=defaults.steps, help=f"[default {defaults.steps}]")
    add(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help=f"views per step [default {defaults.batch_size}]",
    )
    add(
        "--side",
        type=int,
        default=defaults.side,
        help=f"training views are SIDE x SIDE pixels [default {defaults.side}]",
    )
    add("--lr", type=float, default=defaults.lr, help=f"AdamW peak rate [default {defaults.lr}]")
    add(
        "--keep",
        type=float,
        default=defaults.keep,
        help="weight of the shipped model's map outside the labelled text "
        f"(against forgetting; 0 = off) [default {defaults.keep}]",
    )
    add(
        "--augment",
        type=float,
        default=defaults.augment,
        help=f"chance of each blur/noise/JPEG/contrast change [default {defaults.augment}]",
    )
    add(
        "--merge",
        type=int,
        choices=(0, 1),
        default=defaults.merge,
        help="1: move the weights back towards the shipped ones as far as the val F1 keeps "
        f"90 %% of its gain (WiSE-FT); 0: export them as trained [default {defaults.merge}]",
    )
    add(
        "--alpha",
        type=float,
        default=defaults.alpha,
        help="with --merge 1: the merge's weight on the fine-tuned side (0.1-1); 0 = the "
        "smallest of 0.2-0.9 keeping 90 %% of the val gain [default 0]",
    )
    add("--seed", type=int, default=defaults.seed, help=f"[default {defaults.seed}]")
    add("--json", action="store_true", help="also print the figures as JSON")
    parser.set_defaults(handler=train_det_command)


def hyper_of(args: argparse.Namespace) -> Any:
    from ..training.hyper import DetHyper

    for name in ("steps", "batch_size", "side"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    if args.side % 32:
        raise ConfigError("--side must be a multiple of 32")
    if args.alpha and not 0.1 <= args.alpha <= 1:
        raise ConfigError("--alpha must be 0 (chosen on val) or 0.1-1")
    if not 0 <= args.augment <= 1 or args.keep < 0 or args.lr <= 0:
        raise ConfigError("--augment must be 0-1, --keep at least 0, --lr above 0")
    return DetHyper(
        steps=args.steps,
        batch_size=args.batch_size,
        side=args.side,
        lr=args.lr,
        keep=args.keep,
        augment=args.augment,
        merge=args.merge,
        alpha=args.alpha,
        seed=args.seed,
    )


def train_det_command(args: argparse.Namespace) -> int:
    hyper = hyper_of(args)
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

        from ..training.det_run import DetJob, train_det
    except ImportError as exc:
        raise ConfigError(
            f"train-det needs the train extra ({exc.name} is missing): "
            "pip install -r requirements-train.txt"
        ) from None
    job = DetJob(args.data, args.out, LOCAL_DATA / DET_MODELS["ppocrv6"].name)
    with tqdm(total=hyper.steps, desc="train-det", unit="step", disable=None) as bar:

        def progress(step: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update(1)
            if bar.disable and (step + 1) % LOG_EVERY == 0:  # no terminal: a line instead
                log.info("step %d of %d, loss %.3f", step + 1, hyper.steps, loss)

        manifest = train_det(job, hyper, progress)
    figures = manifest["figures"]
    stock, tuned = figures["val_stock"], figures["val_tuned"]
    print(
        f"wrote {args.out}: val regions found {stock['matched']}/{stock['labelled']} (stock) "
        f"-> {tuned['matched']}/{tuned['labelled']}, boxes drawn {stock['found']} -> "
        f"{tuned['found']}, after {figures['steps']} steps ({figures['train_seconds']:.0f} s; "
        f"weights merged back at alpha {manifest.get('merge', {}).get('alpha', 1.0):.1f})"
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0
