"""Quantize the detection and recognition models to INT8 (NNCF) for OpenVINO.

The detector calibrates on demo-video frames and rendered pages, the recogniser on the
demo video's ground-truth lines; each writes local_data/int8/<model>.int8.xml (+ .bin)
with a sha256 sidecar, and a cached result whose checksums still match is re-used.
Usage: python -m tools.quantize [--model PATH] [--rec-model PATH] [--force]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from textdetector.config import DEFAULT_MODEL, DEFAULT_VIDEO, RecognizerSettings
from textdetector.errors import KitError
from textdetector.tuning.quantize import quantized_model, quantized_rec_model
from textdetector.tuning.select import INT8_CACHE

MODULE_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument(
        "--rec-model",
        type=Path,
        default=RecognizerSettings().rec_model,
        help="recognition model (default: the default MODEL_SET's)",
    )
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--out", type=Path, default=INT8_CACHE)
    parser.add_argument("--force", action="store_true", help="quantize even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths = [quantized_model(args.model, args.out, args.video, force=args.force)]
        if args.rec_model.is_file():
            truth = args.video.with_suffix(".gt.jsonl")
            paths.append(
                quantized_rec_model(args.rec_model, args.out, args.video, truth, force=args.force)
            )
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for path in paths:
        print(path.relative_to(MODULE_DIR) if path.is_relative_to(MODULE_DIR) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
