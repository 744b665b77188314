"""Cut text regions out of an image: PaddleOCR's `get_rotate_crop_image`.

Each quadrilateral (points top-left, top-right, bottom-right, bottom-left) is warped
to its own width x height (the longer of each pair of opposite sides, truncated to
whole pixels) with a cubic perspective warp that replicates the border, so regions at
or past the frame edge still give a crop. Crops at least 1.5 times taller than wide
are turned 90 degrees counter-clockwise (vertical text read as a line). REC_UPSCALE
cuts a thin region out a second time, warped straight to `UPSCALE_SIDE` pixels across
(`upscale_of`): one cubic warp instead of a small crop's later resize to the model's 48.
"""

from __future__ import annotations

import cv2
import numpy as np

TALL_RATIO = 1.5  # height / width from which a crop is turned 90 degrees
UPSCALE_SIDE = 24  # REC_UPSCALE: a region thinner than this is also cut out this thick
UPSCALE_MAX = 4.0  # ... but at most this many times its size
UPSCALE_BELOW = 0.9  # ... when its first reading's confidence is below this


def crop_size(quad: np.ndarray) -> tuple[int, int]:
    """(width, height) of the crop for one quadrilateral, as PaddleOCR computes it."""
    width = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3]))
    height = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    return int(width), int(height)


def crop_quad(image: np.ndarray, quad: np.ndarray, scale: float = 1.0) -> np.ndarray | None:
    """The upright crop of one region (BGR uint8), or None when it has no pixels;
    `scale` times its size when given (`upscale_of`)."""
    quad = np.asarray(quad, np.float32).reshape(4, 2)
    if not np.isfinite(quad).all():
        return None
    width, height = crop_size(quad)
    if width < 1 or height < 1:
        return None
    if scale != 1.0:
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(
        image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if crop.shape[0] / crop.shape[1] >= TALL_RATIO:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop


def crop_all(image: np.ndarray, quads: np.ndarray) -> list[np.ndarray | None]:
    """Crops for every quadrilateral of an (N, 4, 2) array, in order."""
    return [crop_quad(image, quad) for quad in np.asarray(quads, np.float32).reshape(-1, 4, 2)]


def upscale_of(quad: np.ndarray) -> float:
    """How much REC_UPSCALE enlarges this region's second crop: its short side raised to
    `UPSCALE_SIDE`, at most `UPSCALE_MAX` times; 1.0 when it is that thick already."""
    short = min(crop_size(np.asarray(quad, np.float32).reshape(4, 2)))
    if short < 1 or short >= UPSCALE_SIDE:
        return 1.0
    return min(UPSCALE_MAX, UPSCALE_SIDE / short)


def is_tall(quad: np.ndarray) -> bool:
    """Whether `crop_quad` turns this region's crop (text running top to bottom)."""
    width, height = crop_size(np.asarray(quad, np.float32).reshape(4, 2))
    return width >= 1 and height >= TALL_RATIO * width


def tall_variants(turned: np.ndarray) -> list[np.ndarray]:
    """Other readings of a tall region, from its crop as `crop_quad` turned it (counter-
    clockwise): turned the other way (text running bottom to top), and stacked letters
    laid side by side (upright letters one above the other, as on a vertical sign).

    The reader keeps whichever of these and the crop itself it reads most confidently.
    """
    other_way = np.ascontiguousarray(np.rot90(turned, 2))
    upright = np.rot90(turned, -1)  # the region as it stands in the image
    height, width = upright.shape[:2]
    cells = max(2, int(round(height / max(width, 1))))
    rows = np.array_split(np.arange(height), cells)
    cell_h = max(1, len(rows[0]))
    strip = np.hstack(
        [
            cv2.resize(np.ascontiguousarray(upright[r[0] : r[-1] + 1]), (width, cell_h))
            for r in rows
            if len(r)
        ]
    )
    return [other_way, np.ascontiguousarray(strip)]
