"""The label font: a CJK-capable TrueType font when one is installed, else Pillow's own.

OpenCV's Hershey fonts draw ASCII only, and the recogniser also returns Chinese
characters, so labels are drawn with Pillow. The images and `scripts/test-deps.d/`
install Debian's `fonts-wqy-microhei` (5 MB, Latin and CJK); without it the labels fall
back to Pillow's built-in font (Latin only: CJK characters show as boxes), said once in
the log.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

# Tried in order: Debian/Ubuntu packages that cover Latin and CJK.
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_path() -> Path | None:
    """The first installed CJK-capable font, or None."""
    return next((path for path in CJK_FONTS if path.is_file()), None)


@functools.lru_cache(maxsize=16)
def label_font(size: int) -> Font:
    """The label font at `size` pixels (cached per size)."""
    path = font_path()
    if path is not None:
        try:
            # Basic layout: 5x faster than Raqm, and CJK and Latin need no shaping.
            return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
        except OSError as error:
            _warn_once(f"cannot load the label font {path.name} ({error})")
    else:
        _warn_once(
            "no CJK-capable font installed (Debian: fonts-wqy-microhei); drawn labels "
            "use Pillow's built-in font, which shows CJK characters as boxes"
        )
    return ImageFont.load_default(size)


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)
