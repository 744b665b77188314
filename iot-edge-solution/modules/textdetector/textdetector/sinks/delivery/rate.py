"""Rate control: which frames become messages, and the per-interval summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...geometry import changed
from ...results import Detections


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

    def decide(
        self, detections: Detections, now: float, interval_s: float, dropped: int = 0
    ) -> Decision:
        if self._start is None:
            self._start = now
        self._frames += 1
        self._regions.append(len(detections))
        boxes = detections.xyxy()
        send = self.mode == "every" or (
            self.mode == "change" and changed(self._last_sent, boxes, self.iou)
        )
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
