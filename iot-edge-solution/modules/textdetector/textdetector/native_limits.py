"""OpenCV's own decoded-image pixel cap for the HTTP service, set before cv2 loads.

OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, when the library loads, and refuses to
decode any image over it. `serve` checks every image's header against SERVE_MAX_PIXELS
first; this cap is the second line should a crafted file get a header past that check.
So this runs from the package's __init__, before any module imports cv2, and only for
the `serve` command (`run` and `detect` keep OpenCV's default). A value already set in
the environment wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence

ENV = "OPENCV_IO_MAX_IMAGE_PIXELS"
FLAG = "--max-pixels"


def _flag_value(argv: Sequence[str]) -> str | None:
    """The last `--max-pixels N` / `--max-pixels=N` on the command line, if any."""
    value = None
    for i, arg in enumerate(argv):
        if arg == FLAG and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(FLAG + "="):
            value = arg.split("=", 1)[1]
    return value


def serve_pixel_cap(environ: MutableMapping[str, str], argv: Sequence[str]) -> int | None:
    """The pixel limit `serve` will run with, or None when this is not `serve` (or the
    value is invalid: the settings loader then reports it)."""
    if "serve" not in argv[1:2]:
        return None
    from .config import ServeSettings  # no cv2 there

    raw = _flag_value(argv) or environ.get("SERVE_MAX_PIXELS", "").strip()
    try:
        return int(raw) if raw else int(ServeSettings.max_pixels)
    except ValueError:
        return None


def cap_decoded_pixels(
    environ: MutableMapping[str, str] = os.environ, argv: Sequence[str] = sys.argv
) -> None:
    """Set OPENCV_IO_MAX_IMAGE_PIXELS from SERVE_MAX_PIXELS for `serve` (before cv2)."""
    cap = serve_pixel_cap(environ, argv)
    if cap is not None and cap > 0:
        environ.setdefault(ENV, str(cap))
