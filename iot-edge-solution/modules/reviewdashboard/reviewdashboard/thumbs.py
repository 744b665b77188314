"""JPEG thumbnails made server-side, kept in a small LRU cache (blobs never change)."""
from __future__ import annotations

import io
from collections import OrderedDict

from PIL import Image


def thumbnail(data: bytes, max_side: int, quality: int = 80) -> bytes:
    """A JPEG no larger than `max_side` on its longer side; ValueError if not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert("RGB")
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality)
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image: {exc}") from None
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
