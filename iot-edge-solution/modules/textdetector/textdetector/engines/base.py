"""The interface every inference engine implements."""
from __future__ import annotations

from typing import Protocol

import numpy as np


class InferenceEngine(Protocol):
    """Runs the DB text detection model.

    `run` takes a float32 NCHW batch (H and W multiples of 32) and returns the float32
    probability maps, shape (N, 1, H, W).
    """

    name: str

    def run(self, batch: np.ndarray) -> np.ndarray:
        ...

    def close(self) -> None:
        ...
