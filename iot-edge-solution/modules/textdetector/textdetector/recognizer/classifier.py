"""The 0/180-degree text-line classifier (PaddleOCR mobile v2.0 cls)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..engines import run_single
from ..errors import ModelError
from .batching import by_aspect, chunks, normalised_batch

CLS_WIDTH = 192
CLS_THRESH = 0.9  # rotate when the 180-degree class scores above this
CLS_BATCH = 6


class AngleClassifier:
    """Finds upside-down crops and turns them upright, in batches of `batch` crops."""

    def __init__(self, engine, batch: int = CLS_BATCH, thresh: float = CLS_THRESH) -> None:
        if len(engine.inputs) != 1 or engine.inputs[0].shape[1:2] not in ((3,), (None,)):
            raise ModelError("angle classifier model must take one [N, 3, 48, W] input")
        self.engine = engine
        self.batch = batch
        self.thresh = thresh
        self.calls = 0

    def upright(self, crops: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """The crops, the upside-down ones turned 180 degrees; and which were turned."""
        out = list(crops)
        turned = np.zeros(len(crops), bool)
        for part in chunks(by_aspect(crops), self.batch):
            probs = self._run(normalised_batch([crops[i] for i in part], CLS_WIDTH))
            labels = probs.argmax(axis=1)
            for j, index in enumerate(part):
                if labels[j] == 1 and probs[j, 1] > self.thresh:
                    out[index] = cv2.rotate(crops[index], cv2.ROTATE_180)
                    turned[index] = True
        return out, turned

    def _run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        probs = run_single(self.engine, batch)
        if probs.ndim != 2 or probs.shape[1] != 2:
            raise ModelError(f"angle classifier returned shape {probs.shape}, expected (N, 2)")
        return probs
