"""The change test: a downscaled grey frame compared block by block with a reference.

The frame is shrunk (area averaging) to `width` pixels across, which averages sensor
noise away; its grey levels are matched to the reference's rank for rank (global light
change, flicker and clipping cancel out); a frame changed when any block of `block` x
`block` small pixels differs from the reference by more than `threshold` grey levels on
average.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def signature(image: np.ndarray, width: int = 160) -> np.ndarray:
    """The frame as a small float32 grey image (`width` pixels across, aspect kept)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    height = max(1, round(grey.shape[0] * width / grey.shape[1]))
    return cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def match_light(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`current` with the grey levels of `reference`, rank for rank (histogram matching):
    any global, monotonic light change (gain, offset, gamma, clipping) cancels out."""
    matched = np.empty(current.size, np.float32)
    matched[np.argsort(current, axis=None, kind="stable")] = np.sort(reference, axis=None)
    return matched.reshape(current.shape)


def block_means(values: np.ndarray, block: int) -> np.ndarray:
    """Mean of each `block` x `block` tile (partial tiles at the edges included)."""
    rows, cols = -(-values.shape[0] // block), -(-values.shape[1] // block)
    return cv2.resize(values, (cols, rows), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class ChangeTest:
    """Tells whether a frame's signature differs from a reference's."""

    width: int = 160
    block: int = 4
    threshold: float = 6.0  # grey levels, mean over a block

    def signature(self, image: np.ndarray) -> np.ndarray:
        return signature(image, self.width)

    def changed_blocks(self, current: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Boolean grid of the blocks that changed (all, when the sizes differ)."""
        if current.shape != reference.shape:
            return np.ones((1, 1), bool)
        diff = np.abs(match_light(current, reference) - reference)
        return block_means(diff, self.block) > self.threshold

    def changed(self, current: np.ndarray, reference: np.ndarray) -> bool:
        return bool(self.changed_blocks(current, reference).any())
