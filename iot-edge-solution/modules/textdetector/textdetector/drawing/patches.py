"""Label patches: text composed from cached glyphs, copied into the frame.

Pillow renders each character once per size (`glyph`, the FreeType work); a label is
composed from those masks in numpy and coloured, and cached per (text, size, colour): a
video shows the same readings frame after frame, so a repeated label costs one slice
copy and a new one a few glyph copies. The frame itself never passes through Pillow.
"""

from __future__ import annotations

import functools
import threading

import numpy as np
from PIL import Image, ImageDraw

from .font import label_font

PAD = 2
# One FreeType face is shared by every thread that draws (the run loop, preview viewers,
# archive uploads): glyphs are rendered one at a time (rarely: each is cached).
_RENDER = threading.Lock()


def line_height(size: int) -> int:
    """The height of every label line at `size` pixels: the font's ascent + descent."""
    font = label_font(size)
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (size, 0)
    return int(ascent + descent)


@functools.lru_cache(maxsize=8192)
def glyph(char: str, size: int) -> tuple[np.ndarray, int, float]:
    """One character drawn alone: its 8-bit mask over the line's height, the mask's left
    edge from the pen, and how far the pen then moves."""
    font = label_font(size)
    with _RENDER:
        left, _, right, _ = (int(v) for v in font.getbbox(char))
        mask = Image.new("L", (max(0, right - left), line_height(size)), 0)
        if right > left:
            ImageDraw.Draw(mask).text((-left, 0), char, font=font, fill=255)
        advance = float(font.getlength(char))
    return _frozen(np.asarray(mask)), left, advance


@functools.lru_cache(maxsize=2048)
def text_mask(text: str, size: int) -> np.ndarray:
    """`text` at `size` pixels as an 8-bit mask padded by PAD all round, composed from
    its characters' glyphs (no kerning: labels are short)."""
    placed, pen = [], 0.0
    for char in text:
        mask, left, advance = glyph(char, size)
        placed.append((round(pen) + left, mask))
        pen += advance
    shift = max([0] + [-x for x, _ in placed])  # a glyph reaching left of the first pen
    width = max([int(np.ceil(pen))] + [x + m.shape[1] for x, m in placed]) + shift
    out = np.zeros((line_height(size) + 2 * PAD, width + 2 * PAD), np.uint8)
    for x, mask in placed:
        if mask.size:
            x0 = PAD + shift + x
            region = out[PAD : PAD + mask.shape[0], x0 : x0 + mask.shape[1]]
            np.maximum(region, mask, out=region)
    return _frozen(out)


@functools.lru_cache(maxsize=2048)
def text_patch(text: str, size: int, colour: tuple[int, int, int]) -> np.ndarray:
    """`text` at `size` pixels in black on a `colour` (BGR) rectangle, padded by PAD all
    round: an H x W x 3 uint8 patch. Every patch of one size has the same height."""
    return _frozen(_shades(colour)[text_mask(text, size)])


@functools.lru_cache(maxsize=64)
def _shades(colour: tuple[int, int, int]) -> np.ndarray:
    """256 x 3 table: the pixel of ink coverage a (0-255) in black over `colour`."""
    coverage = np.arange(256, dtype=np.uint16)[:, None]
    return (np.asarray(colour, np.uint16) * (255 - coverage) // 255).astype(np.uint8)


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


def _frozen(array: np.ndarray) -> np.ndarray:
    """The array made read-only: cached values are shared."""
    array.flags.writeable = False
    return array
