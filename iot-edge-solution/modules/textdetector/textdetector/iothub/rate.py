"""Rate control: which frames become messages, and the per-interval summary."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..results import Detections


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every xyxy box in `a` (N,4) with every one in `b` (M,4)."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def changed(previous: np.ndarray | None, current: np.ndarray, iou: float) -> bool:
    """True when the regions differ materially: count, or a region without a match."""
    if previous is None or len(previous) != len(current):
        return True
    if len(current) == 0:
        return False
    overlap = iou_matrix(current, previous)
    return bool((overlap.max(axis=1) < iou).any() or (overlap.max(axis=0) < iou).any())


@dataclass
class Decision:
    """What to send for one frame: a detections message, a summary, both or neither."""

    detections: bool
    summary: dict[str, Any] | None


class RateControl:
    """Decides per frame; `interval_s` may change between calls (live settings)."""

    def __init__(self, mode: str = "change", iou: float = 0.5) -> None:
        self.mode = mode
        self.iou = iou
        self._last_sent: np.ndarray | None = None
        self._start: float | None = None
        self._frames = 0
        self._messages = 0
        self._regions: list[int] = []

    def decide(self, detections: Detections, now: float, interval_s: float,
               dropped: int = 0) -> Decision:
        if self._start is None:
            self._start = now
        self._frames += 1
        self._regions.append(len(detections))
        boxes = detections.xyxy()
        send = self.mode == "every" or (
            self.mode == "change" and changed(self._last_sent, boxes, self.iou))
        summary = None
        elapsed = now - self._start
        if elapsed >= interval_s:
            summary = self._summary(elapsed, dropped)
            self._start, self._frames, self._messages, self._regions = now, 0, 0, []
        elif send:
            self._messages += 1
        if send or summary is not None:
            self._last_sent = boxes
        return Decision(send and summary is None, summary)

    def _summary(self, elapsed: float, dropped: int) -> dict[str, Any]:
        regions = self._regions
        return {
            "intervalS": round(elapsed, 3),
            "frames": self._frames,
            "fps": round(self._frames / elapsed, 2) if elapsed > 0 else 0.0,
            "messages": self._messages + 1,
            "regionsMin": min(regions),
            "regionsMax": max(regions),
            "regionsMean": round(sum(regions) / len(regions), 2),
            "dropped": dropped,
        }
