"""What the detector is trained towards: DB shrink maps from labelled polygons, and the
square training views cut from a labelled image (no torch needed).

A text region's target is its polygon shrunk by D = A (1 - r^2) / L (area A, perimeter L,
r = 0.4), PaddleOCR's `MakeShrinkMap`; at inference the found region is grown back by
the policy's unclip ratio. Regions too small to shrink, and "do not care" ones, are
left out of the loss (mask 0) rather than taught as background.
"""

from __future__ import annotations

import numpy as np
import pyclipper

from .augment import blur, contrast, jpeg, noise

SHRINK_RATIO = 0.4
MIN_SIDE = 3.0  # regions thinner than this (in view pixels) are left out of the loss


def shrink_maps(
    polygons: list[np.ndarray], ignore: list[bool], size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(text, mask) float32 maps of `size` (height, width): 1 inside each shrunk text
    region; mask 0 over "do not care" and too-small regions."""
    import cv2

    text = np.zeros(size, np.float32)
    mask = np.ones(size, np.float32)
    for polygon, skip in zip(polygons, ignore):
        whole = np.round(polygon).astype(np.int32)
        side = min(cv2.minAreaRect(polygon.astype(np.float32))[1])
        shrunk = None if skip or side < MIN_SIDE else _shrink(polygon)
        if shrunk is None:
            cv2.fillPoly(mask, [whole], 0.0)
        else:
            cv2.fillPoly(text, [shrunk], 1.0)
    return text, mask


def _shrink(polygon: np.ndarray) -> np.ndarray | None:
    import cv2

    area = abs(float(cv2.contourArea(polygon)))
    perimeter = float(cv2.arcLength(polygon, True))
    if area < 1 or perimeter < 1:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(
        [tuple(p) for p in np.round(polygon).astype(int).tolist()],
        pyclipper.JT_ROUND,
        pyclipper.ET_CLOSEDPOLYGON,
    )
    shrunk = offset.Execute(-area * (1 - SHRINK_RATIO**2) / perimeter)
    return np.array(shrunk[0], np.int32) if shrunk else None


def training_view(
    image: np.ndarray,
    polygons: list[np.ndarray],
    side: int,
    short_side: int,
    rng: np.random.Generator,
    augment: float,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A `side` x `side` view of `image` as the detector sees it: scaled so its short
    side is about `short_side` (the policy's, times 0.7-1.3), a square cut centred on a
    random text region half of the time, padded with black where the image ends, then
    blurred, noised, JPEG-compressed or re-contrasted each with chance `augment`.
    Returns the view and the polygons in its pixels."""
    import cv2

    height, width = image.shape[:2]
    scale = short_side * float(rng.uniform(0.7, 1.3)) / min(height, width)
    scaled = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))))
    points = [p * scale for p in polygons]
    top, left = _corner(scaled.shape[:2], points, side, rng)
    view = np.zeros((side, side, 3), np.uint8)
    part = scaled[top : top + side, left : left + side]
    view[: part.shape[0], : part.shape[1]] = part
    for change in (blur, noise, jpeg, contrast):
        if rng.random() < augment:
            view = change(view, rng)
    return view, [p - np.array([left, top], np.float32) for p in points]


def _corner(
    shape: tuple[int, int], points: list[np.ndarray], side: int, rng: np.random.Generator
) -> tuple[int, int]:
    height, width = shape
    if points and rng.random() < 0.5:
        cx, cy = points[int(rng.integers(len(points)))].mean(axis=0)
        top = int(cy - side / 2 + rng.uniform(-side / 4, side / 4))
        left = int(cx - side / 2 + rng.uniform(-side / 4, side / 4))
    else:
        top = int(rng.integers(0, max(1, height - side + 1)))
        left = int(rng.integers(0, max(1, width - side + 1)))
    return (min(max(0, top), max(0, height - side)), min(max(0, left), max(0, width - side)))
