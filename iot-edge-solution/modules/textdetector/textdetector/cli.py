"""Command line: `run` the video pipeline (default), `detect` text in images, `serve` HTTP."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence

from . import __version__
from .config import RUN_GROUPS, ServeSettings
from .errors import KitError

DESCRIPTION = """\
Find and read text in video and images: PaddleOCR PP-OCRv6 detector and recogniser by
default (PP-OCRv4: DET_MODEL / MODEL_SET=ppocrv4), on OpenVINO (the x86-64 default) or
ONNX Runtime on the CPU, TensorRT on an NVIDIA GPU, or a remote Triton server. Results go
to the console, JSON Lines, IoT Hub and a Blob archive; `serve` is an HTTP scoring service.
Every option can also be set by the environment variable shown beside it; flags win over
the environment.
"""
EXAMPLES = """\
examples:
  textdetector                                run on the demo video (CAMERA_PATH default)
  textdetector --camera-path 0 --quiet        first camera, fps summaries only
  textdetector --json-output - | jq .count    JSON Lines on stdout, logs on stderr
  textdetector --save-video out.mp4           also write the annotated video
  textdetector detect page.png --json         detect text in image files or folders
  textdetector detect imgs/ --annotate out/   also write each image annotated to out/
  textdetector serve --port 8080              HTTP scoring service (LVA/AVA, Custom Vision)
  textdetector export-triton triton-models    Triton model repository of the models
  textdetector train-rec --data DS --out M    fine-tune the recogniser on labelled crops
  textdetector train-det --data DS --out M    fine-tune the detector on labelled frames
  (`python main.py ...` in the module folder is the same command)
commands: run (the default; these options), detect, serve, export-triton, train-rec
          and train-det (see `textdetector COMMAND --help`)
exit codes: 0 ok (also when a reader closes the pipe), 2 invalid option,
            3 model problem, 4 source problem, 5 engine not installed or Triton
            server unavailable, 130 interrupted
"""
KNOWN = {"run", "detect", "serve", "export-triton", "train-rec", "train-det", "--version"}


def environment_only() -> str:
    """The help section for variables read from the environment only (secrets, IoT Edge)."""
    lines = ["environment only (never a flag: secrets stay out of process lists):"]
    for cls in [cls for cls, _ in RUN_GROUPS.values()] + [ServeSettings]:
        for f in dataclasses.fields(cls):
            if f.metadata.get("secret"):
                lines.append(f"  {f.metadata['env']:<28}{f.metadata['help']}")
    lines += [
        "  IOTEDGE_* / EdgeHubConnectionString  set by the IoT Edge runtime (or its",
        "                              simulator): the module client comes from them",
        "  OPENCV_LOG_LEVEL, OPENCV_FFMPEG_LOGLEVEL  OpenCV/FFmpeg logging; quiet",
        "                              unless LOG_LEVEL=debug",
    ]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    epilog = environment_only() + "\n" + EXAMPLES
    parser = argparse.ArgumentParser(
        prog="textdetector",
        description=DESCRIPTION,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"textdetector {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from .commands.detect import add_detect_parser
    from .commands.run import add_run_parser
    from .commands.serve import add_serve_parser

    add_run_parser(commands, DESCRIPTION, epilog)
    add_detect_parser(commands)
    add_serve_parser(commands)
    from .export.command import add_export_parser

    add_export_parser(commands)
    from .commands.train_rec import add_train_rec_parser

    add_train_rec_parser(commands)
    from .commands.train_det import add_train_det_parser

    add_train_det_parser(commands)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    if not argv or argv[0] not in KNOWN:
        return ["run", *argv]
    return argv


def _quiet_broken_pipe() -> int:
    """A reader closed stdout (`| head`): stop quietly, as Unix tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    args = build_parser().parse_args(_with_default_command(argv))
    try:
        return args.handler(args)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def console_main() -> None:
    """Entry point of the `textdetector` console script."""
    sys.exit(main())


__all__ = ["main", "build_parser", "console_main"]
