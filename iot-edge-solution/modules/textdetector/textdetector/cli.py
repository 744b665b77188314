"""Command line: `run` the video pipeline (default) or `detect` text in image files."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Callable, Sequence

from . import __version__
from .config import RUN_GROUPS, DetectorSettings, EngineSettings, add_arguments, load_settings
from .errors import KitError

DESCRIPTION = """\
Detect text in a video stream with the PaddleOCR PP-OCRv4 DB detector (ONNX), on
ONNX Runtime (CPU) or TensorRT (NVIDIA GPU). Every option can also be set by the
environment variable shown beside it; flags win over the environment.
"""
EPILOG = """\
examples:
  python main.py                              run on the demo video (CAMERA_PATH default)
  python main.py --camera-path 0 --quiet      first camera, fps summaries only
  python main.py --json-output out.jsonl      also write one JSON line per frame
  python main.py detect page.png --json       detect text in image files or folders
  python main.py serve --port 8080            HTTP scoring service (LVA/AVA, Custom Vision)
  python main.py export-triton triton-models  Triton model repository of the models
commands: run (the default; these options), detect, serve and export-triton (see
          `main.py COMMAND --help`)
exit codes: 0 ok, 2 invalid option, 3 model problem, 4 source problem,
            5 engine not installed or Triton server unavailable, 130 interrupted
"""

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"textdetector {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run the video pipeline (the default command)",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    for cls, title in RUN_GROUPS.values():
        add_arguments(run, cls, title)
    run.set_defaults(handler=run_command)
    from .detect_command import add_detect_parser

    add_detect_parser(commands)
    from .serve_command import add_serve_parser

    add_serve_parser(commands)
    from .export.command import add_export_parser

    add_export_parser(commands)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from .pipeline import run

    settings = load_settings(args=args)
    logging.getLogger().setLevel(settings.output.log_level.upper())
    stop = threading.Event()
    _stop_on_signals(stop)
    summary = run(settings, stop)
    if summary.stopped:
        logging.getLogger(__name__).info("stopped by signal after %d frames", summary.frames)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _with_default_command(argv: list[str]) -> list[str]:
    known = {"run", "detect", "serve", "export-triton", "--version"}
    if not argv or argv[0] not in known:
        return ["run", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    args = build_parser().parse_args(_with_default_command(list(argv or sys.argv[1:])))
    try:
        return args.handler(args)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["main", "build_parser", "DetectorSettings", "EngineSettings"]
