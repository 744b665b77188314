"""Shared input preparation of the recognition and angle-classification models."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

HEIGHT = 48  # model input height of both models
MIN_WIDTH = 320  # PaddleOCR's rec_image_shape width: the narrowest batch input
MAX_WIDTH = 4800  # widest batch input (aspect 100); wider lines are squeezed into it
WIDTH_STEP = 32  # REC_PADDING=line: a line's own input width is a multiple of this


def aspect(crop: np.ndarray) -> float:
    """Width / height of a crop."""
    return crop.shape[1] / float(crop.shape[0])


def by_aspect(crops: Sequence[np.ndarray]) -> np.ndarray:
    """Indices of `crops` from the narrowest to the widest (PaddleOCR's order)."""
    return np.argsort(np.array([aspect(crop) for crop in crops]))


def chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of `order`, `size` long (the last may be shorter)."""
    for start in range(0, len(order), size):
        yield order[start : start + size]


def batch_width(crops: Sequence[np.ndarray]) -> int:
    """Input width for a batch: 48 x the widest aspect, at least 320, at most 4800."""
    ratio = max([MIN_WIDTH / HEIGHT] + [aspect(crop) for crop in crops])
    return min(MAX_WIDTH, int(HEIGHT * ratio))


def line_width(crop: np.ndarray) -> int:
    """A crop's own input width: 48 x its aspect rounded up to WIDTH_STEP, 320 to 4800."""
    width = math.ceil(HEIGHT * aspect(crop) / WIDTH_STEP) * WIDTH_STEP
    return min(MAX_WIDTH, max(MIN_WIDTH, width))


def plan(
    crops: Sequence[np.ndarray], size: int, padding: str = "line"
) -> list[tuple[np.ndarray, int]]:
    """The recogniser's batches: (indices of at most `size` crops, input width) each.

    `padding` line: crops of the same `line_width` go together and keep that width, so a
    line's input, and so its reading, does not depend on what else is read with it.
    batch (PaddleOCR, RapidOCR): crops sorted by aspect, each chunk padded to its widest.
    """
    if padding == "batch":
        parts = chunks(by_aspect(crops), size)
        return [(part, batch_width([crops[i] for i in part])) for part in parts]
    widths = np.array([line_width(crop) for crop in crops], int)
    order = np.argsort(widths, kind="stable")
    return [
        (part, int(width))
        for width in np.unique(widths)
        for part in chunks(order[widths[order] == width], size)
    ]


def model_inputs(
    crops: Sequence[np.ndarray], parts: Sequence[tuple[np.ndarray, int]]
) -> Iterator[np.ndarray]:
    """The model input of each (indices, width) batch of a `plan`, made when asked for."""
    return (normalised_batch([crops[i] for i in part], width) for part, width in parts)


def normalised_batch(crops: Sequence[np.ndarray], width: int) -> np.ndarray:
    """(N, 3, 48, width) float32: each crop resized to height 48 keeping its aspect
    (at most `width` wide, bilinear), pixels (x / 255 - 0.5) / 0.5, zero-padded right."""
    batch = np.zeros((len(crops), 3, HEIGHT, width), np.float32)
    for i, crop in enumerate(crops):
        resized_w = min(width, int(math.ceil(HEIGHT * aspect(crop))))
        resized = cv2.resize(crop, (resized_w, HEIGHT)).astype(np.float32)
        resized = resized.transpose((2, 0, 1)) / 255
        resized -= 0.5
        resized /= 0.5
        batch[i, :, :, :resized_w] = resized
    return batch
