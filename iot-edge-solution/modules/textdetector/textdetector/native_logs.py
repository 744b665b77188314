"""Keep OpenCV's and FFmpeg's own log lines off the console unless LOG_LEVEL=debug.

OpenCV reads OPENCV_LOG_LEVEL and OPENCV_FFMPEG_LOGLEVEL when it loads, so this runs
from the package's __init__, before any module imports cv2. Values already set in the
environment win. A bad source then shows only the module's one readable line, not
FFmpeg's ("EBML header parsing failed", "Connection refused", ...).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence

FFMPEG_QUIET = "-8"  # AV_LOG_QUIET


def debug_requested(environ: MutableMapping[str, str], argv: Sequence[str]) -> bool:
    """LOG_LEVEL=debug in the environment, or `--log-level debug` on the command line."""
    level = environ.get("LOG_LEVEL", "")
    for i, arg in enumerate(argv):
        if arg == "--log-level" and i + 1 < len(argv):
            level = argv[i + 1]
        elif arg.startswith("--log-level="):
            level = arg.split("=", 1)[1]
    return level.strip().lower() == "debug"


def quiet_native_logs(
    environ: MutableMapping[str, str] = os.environ, argv: Sequence[str] = sys.argv
) -> None:
    """Quiet defaults for OpenCV and FFmpeg; with debug logging, their own defaults."""
    if debug_requested(environ, argv):
        return
    environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_QUIET)
