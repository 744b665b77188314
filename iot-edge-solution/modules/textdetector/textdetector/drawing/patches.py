"""Label patches: text rendered by Pillow into a small image, copied into the frame.

Only the label's own pixels pass through Pillow; the frame stays a numpy array. Patches
are cached per (text, size, colour): a video shows the same readings frame after frame,
so a repeated label costs one slice copy.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw

from .font import label_font

PAD = 2


@functools.lru_cache(maxsize=2048)
def text_patch(text: str, size: int, colour: tuple[int, int, int]) -> np.ndarray:
    """`text` at `size` pixels in black on a `colour` (BGR) rectangle, padded by PAD all
    round: an H x W x 3 uint8 patch. Every patch of one size has the same height (the
    font's ascent + descent)."""
    font = label_font(size)
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (size, 0)
    width = int(np.ceil(font.getlength(text))) if text else 0
    blue, green, red = colour
    patch = Image.new("RGB", (width + 2 * PAD, ascent + descent + 2 * PAD), (red, green, blue))
    ImageDraw.Draw(patch).text((PAD, PAD), text, font=font, fill=(0, 0, 0))
    bgr = np.ascontiguousarray(np.asarray(patch)[:, :, ::-1])
    bgr.flags.writeable = False  # cached values are shared
    return bgr


def label_patch(text: str, score: str, size: int, colour: tuple[int, int, int]) -> np.ndarray:
    """The label `text score` as one patch: the two parts rendered (and cached) apart,
    side by side, so a reading whose score changes is not rendered again."""
    pieces = [text_patch(part, size, colour) for part in (text, score) if part]
    return pieces[0] if len(pieces) == 1 else np.hstack(pieces)


def paste(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """Copy `patch` into the canvas with its top-left at (x, y), clipped, in place."""
    height, width = canvas.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + patch.shape[1]), min(height, y + patch.shape[0])
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]
