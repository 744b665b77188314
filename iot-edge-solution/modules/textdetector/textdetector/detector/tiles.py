"""Tiles for large still images: small text the whole-image pass shrinks out of sight.

A 4K frame goes to the model about 2.9x smaller; text a few pixels tall there is lost.
The tile pass cuts the image into overlapping squares (`DetPolicy.tile` pixels, never
resized down), detects each, drops boxes cut by an inner tile edge (the neighbouring
tile, overlapping, holds them whole), and adds to the whole-image boxes only the tile
boxes that no whole-image box already covers: text the whole pass read stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import geometry
from ..results import Detections

OVERLAP = 0.15  # share of a tile its neighbour also sees
EDGE = 4  # px: a box this close to an inner tile edge was cut by it
ADD_BELOW = 0.1  # a tile box is added when no whole-image box covers this much of either
LARGEST = 4096  # px: a larger image is tiled after scaling its long side down to this


def scale_for(image_size: tuple[int, ...]) -> float:
    """The factor an image is scaled by before tiling (1.0 up to LARGEST pixels)."""
    return min(1.0, LARGEST / max(image_size[0], image_size[1], 1))


def scaled(found: Detections, factor: float, image_size: tuple[int, int]) -> Detections:
    """Boxes multiplied by `factor`, as boxes of an image of `image_size`."""
    if factor == 1.0:
        return Detections(found.boxes, found.scores, image_size)
    return Detections((found.boxes * factor).astype(np.float32), found.scores, image_size)


def starts(length: int, tile: int, overlap: float = OVERLAP) -> list[int]:
    """Tile offsets along one side: evenly stepped, the last flush with the end."""
    if length <= tile:
        return [0]
    step = max(int(tile * (1.0 - overlap)), 1)
    offsets = list(range(0, length - tile, step))
    return [*offsets, length - tile]


def origins(height: int, width: int, tile: int) -> list[tuple[int, int]]:
    """(y, x) of every tile's top-left corner."""
    return [(y, x) for y in starts(height, tile) for x in starts(width, tile)]


def whole_boxes(
    found: Detections, origin: tuple[int, int], tile_size: tuple[int, int], image_size: tuple
) -> Detections:
    """One tile's boxes in image pixels, without those an inner tile edge cut."""
    y, x = origin
    th, tw = tile_size
    height, width = image_size
    bounds = geometry.xyxy(found.boxes) if len(found) else np.zeros((0, 4), np.float32)
    cut = (
        ((bounds[:, 0] < EDGE) & (x > 0))
        | ((bounds[:, 1] < EDGE) & (y > 0))
        | ((bounds[:, 2] > tw - EDGE) & (x + tw < width))
        | ((bounds[:, 3] > th - EDGE) & (y + th < height))
    )
    boxes = found.boxes[~cut] + np.array([x, y], np.float32)
    return Detections(boxes.astype(np.float32), found.scores[~cut], (height, width))


def add_uncovered(whole: Detections, tiles: Iterable[Detections]) -> Detections:
    """The whole-image boxes plus the tile boxes in places none of them covers; tile
    boxes two tiles both found count once (the higher-scoring)."""
    from .policy import merge_passes

    found = Detections.empty(whole.image_size)
    for part in tiles:
        found = merge_passes(found, part)
    if not len(found):
        return whole
    if len(whole):
        covered = geometry.cover_matrix(geometry.xyxy(found.boxes), geometry.xyxy(whole.boxes))
        found = _subset(found, covered.max(axis=1) < ADD_BELOW)
    if not len(found):
        return whole
    return Detections(
        np.concatenate([whole.boxes, found.boxes]).astype(np.float32),
        np.concatenate([whole.scores, found.scores]).astype(np.float32),
        whole.image_size,
    )


def _subset(found: Detections, keep: np.ndarray) -> Detections:
    return Detections(found.boxes[keep], found.scores[keep], found.image_size)
