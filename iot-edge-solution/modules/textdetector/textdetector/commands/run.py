"""`run` (the default command): the video pipeline on CAMERA_PATH, until it ends or a signal."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from ..config import RUN_GROUPS, add_arguments, load_settings


def add_run_parser(commands: Any, description: str, epilog: str) -> None:
    run = commands.add_parser(
        "run",
        help="run the video pipeline (the default command)",
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for cls, title in RUN_GROUPS.values():
        add_arguments(run, cls, title)
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    from ..pipeline import run

    settings = load_settings(args=args)
    logging.getLogger().setLevel(settings.output.log_level.upper())
    stop = threading.Event()
    _stop_on_signals(stop)
    summary = run(settings, stop)
    if summary.stopped:
        logging.getLogger(__name__).info("stopped by signal after %d frames", summary.frames)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    """First SIGTERM/SIGINT: finish the frame in hand and stop; a second one interrupts."""

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
