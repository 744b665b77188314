"""JPEG thumbnails made server-side, kept in a small LRU cache (blobs never change).

A thumbnail never decodes the full image when it need not: JPEGs are decoded at the
smallest of libjpeg's reduced scales (1/2, 1/4, 1/8) still at least the thumbnail's
size, so an 8000x8000 frame costs a 1000x1000 decode (Pillow's `draft`). Images whose
header declares more than the pixel limit, or whose reduced decode would still be over
`DECODE_PIXELS`, are refused before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from collections import OrderedDict

from PIL import Image

DECODE_PIXELS = 4096 * 4096  # most pixels decoded for one thumbnail (~48 MiB as RGB)


def limit_pixels(max_pixels: int) -> None:
    """Pillow's decompression-bomb limit: refuse (never just warn) over `max_pixels`."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _check(size: tuple[int, int], limit: int, what: str) -> None:
    if size[0] * size[1] > limit:
        raise ValueError(f"{what} of {size[0]}x{size[1]} pixels is over {limit}")


def thumbnail(
    data: bytes, max_side: int, quality: int = 80, max_pixels: int | None = None
) -> bytes:
    """A JPEG no larger than `max_side` on its longer side; ValueError if not an image or
    too large to decode within the limits."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check(image.size, max_pixels or Image.MAX_IMAGE_PIXELS or DECODE_PIXELS, "image")
            image.draft("RGB", (max_side, max_side))  # JPEG: reduced-size decode
            _check(image.size, DECODE_PIXELS, "decode")
            image.thumbnail((max_side, max_side))
            small = image.convert("RGB")
            out = io.BytesIO()
            small.save(out, "JPEG", quality=quality)
    except Exception as exc:  # Pillow raises OSError, SyntaxError, EOFError, ... on bad data
        raise ValueError(f"not a decodable image: {type(exc).__name__}") from None
    return out.getvalue()


class ThumbCache:
    """Least-recently-used cache of thumbnails keyed by (container, name)."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def get(self, key: tuple[str, str]) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: tuple[str, str], data: bytes) -> None:
        self._items[key] = data
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
