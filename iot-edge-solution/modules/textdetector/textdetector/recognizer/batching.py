"""Shared input preparation of the recognition and angle-classification models."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import cv2
import numpy as np

HEIGHT = 48  # model input height of both models


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
