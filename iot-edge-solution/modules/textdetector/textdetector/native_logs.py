"""Keep OpenCV's and FFmpeg's own log lines off the console unless LOG_LEVEL=debug.

OpenCV reads OPENCV_LOG_LEVEL and OPENCV_FFMPEG_LOGLEVEL when it loads, so this runs
from the package's __init__, before any module imports cv2. Values already set in the
environment win. A bad source then shows only the module's one readable line, not
FFmpeg's ("EBML header parsing failed", "Connection refused", ...).
"""
from __future__ import annotations

import os
import sys
from typing import MutableMapping, Sequence

FFMPEG_QUIET = "-8"  # AV_LOG_QUIET
FFMPEG_VERBOSE = "32"  # AV_LOG_INFO


def debug_requested(environ: MutableMapping[str, str], argv: Sequence[str]) -> bool:
    """LOG_LEVEL=debug in the environment, or `--log-level debug` on the command line."""
    level = environ.get("LOG_LEVEL", "")
    for i, arg in enumerate(argv):
        if arg == "--log-level" and i + 1 < len(argv):
            level = argv[i + 1]
        elif arg.startswith("--log-level="):
            level = arg.split("=", 1)[1]
    return level.strip().lower() == "debug"


def quiet_native_logs(environ: MutableMapping[str, str] = os.environ,
                      argv: Sequence[str] = sys.argv) -> None:
    debug = debug_requested(environ, argv)
    environ.setdefault("OPENCV_LOG_LEVEL", "INFO" if debug else "ERROR")
    environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_VERBOSE if debug else FFMPEG_QUIET)
