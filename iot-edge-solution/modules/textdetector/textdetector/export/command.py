"""`export-triton OUT/`: write a Triton model repository for the detector and recogniser."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import LOCAL_DATA, EngineSettings, RecognizerSettings, load
from ..errors import ConfigError
from ..models import CLS_MODEL, verify_model
from .triton import KINDS, TENSORRT_MODES, ExportOptions, describe_onnx, write_repository

DESCRIPTION = """\
Write a Triton Inference Server model repository: for the detector (MODEL_PATH), the
recogniser and, with --cls, the angle classifier, a folder holding config.pbtxt
(onnxruntime backend, dynamic batching, dynamic shapes as -1) and 1/model.onnx.
Point tritonserver --model-repository at OUT and TRITON_URL at the server.
"""


def add_export_parser(commands: Any) -> None:
    """Register the `export-triton` command."""
    export = commands.add_parser(
        "export-triton",
        help="write a Triton model repository",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("out", type=Path, metavar="OUT", help="repository folder to write")
    defaults = ExportOptions()
    export.add_argument(
        "--rec-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="recognition model (default: the MODEL_SET's, or REC_MODEL_PATH)",
    )
    export.add_argument("--cls", action="store_true", help="also export the angle classifier")
    export.add_argument(
        "--cls-model",
        type=Path,
        default=LOCAL_DATA / CLS_MODEL.name,
        metavar="PATH",
        help="angle classifier model (default %(default)s)",
    )
    export.add_argument(
        "--kind",
        choices=KINDS,
        default=defaults.kind,
        help="instance group kind (default %(default)s)",
    )
    export.add_argument(
        "--instances",
        type=int,
        default=defaults.instances,
        metavar="N",
        help="model instances per device (default %(default)s)",
    )
    export.add_argument(
        "--max-batch",
        type=int,
        default=defaults.max_batch_size,
        metavar="N",
        help="max_batch_size (default %(default)s)",
    )
    export.add_argument(
        "--queue-delay-us",
        type=int,
        default=defaults.queue_delay_us,
        metavar="US",
        help="dynamic batching queue delay (default %(default)s)",
    )
    export.add_argument(
        "--tensorrt",
        choices=TENSORRT_MODES,
        default=defaults.tensorrt,
        help="TensorRT accelerator of the ONNX Runtime backend, GPU only (default %(default)s)",
    )
    export.add_argument(
        "--model-path", default=None, metavar="PATH", help="detection model [env MODEL_PATH]"
    )
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Write the repository and print one line per model."""
    options = ExportOptions(
        max_batch_size=args.max_batch,
        queue_delay_us=args.queue_delay_us,
        kind=args.kind,
        instances=args.instances,
        tensorrt=args.tensorrt,
    )
    rec_model = args.rec_model or load(RecognizerSettings).rec_model
    paths = [load(EngineSettings, args=args).model_path, rec_model]
    if args.cls:
        paths.append(args.cls_model)
    for path in paths:
        verify_model(path)
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"export target is not a folder: {args.out}")
    models = [describe_onnx(path) for path in paths]
    for folder in write_repository(args.out, models, options):
        print(f"wrote {folder / 'config.pbtxt'} and {folder / '1' / 'model.onnx'}")
    return 0
