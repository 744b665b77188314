"""Text appearances on a stream: one event per line of text for as long as it stays visible.

A reading in a frame continues an open appearance when its box overlaps the box last
seen for it (IoU >= `min_iou`) and its text is alike (similarity >= `min_similarity`;
1.0 demands the same string). An appearance ends when it has not been read for more than
`max_gap` frames, or at `close()`; then it is emitted once. Pure logic: no I/O, no clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from .. import geometry

Box = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max


@dataclass(frozen=True)
class Appearance:
    """One line of text seen over consecutive frames at overlapping places."""

    text: str  # the reading seen most often (ties: the more confident)
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    best_text: str  # the most confident single reading
    best_score: float
    best_frame: int
    box: Box  # where it was at best_frame
    frames: int  # frames in which it was read

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "first_seen": round(self.first_time, 3),
            "last_seen": round(self.last_time, 3),
            "best_text": self.best_text,
            "best_score": round(self.best_score, 4),
            "best_frame": self.best_frame,
            "box": [round(v, 1) for v in self.box],
            "frames": self.frames,
        }


@dataclass
class _Track:
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    box: Box
    text: str
    best: tuple[float, str, int, Box]  # score, text, frame, box
    counts: Counter = field(default_factory=Counter)
    weights: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    matches: Counter = field(default_factory=Counter)  # REC_PATTERN readings that matched
    frames: int = 0

    def add(
        self, frame: int, time: float, box: Box, text: str, score: float, matched: bool = False
    ) -> None:
        """One frame's reading; once a reading matched REC_PATTERN, the track keeps its
        matched value (a misread frame's raw text neither renames nor splits it)."""
        self.last_frame, self.last_time, self.box = frame, time, box
        if matched or not self.matches:
            self.text = text
        if matched:
            self.matches[text] += 1
        self.counts[text] += 1
        self.weights[text] += score
        self.frames += 1
        if score > self.best[0]:
            self.best = (score, text, frame, box)

    def appearance(self) -> Appearance:
        votes = self.matches or self.counts  # matched readings outvote raw ones
        text = max(votes, key=lambda t: (votes[t], self.weights[t]))
        score, best_text, best_frame, box = self.best
        return Appearance(
            text,
            self.first_frame,
            self.last_frame,
            self.first_time,
            self.last_time,
            best_text,
            score,
            best_frame,
            box,
            self.frames,
        )


def as_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) bounds from (N, 4, 2) quadrilaterals or (N, 4) x_min, y_min, x_max, y_max."""
    boxes = np.asarray(boxes, np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim == 3:
        return geometry.xyxy(boxes).astype(np.float64)
    return boxes.reshape(-1, 4)


iou = geometry.box_iou


def similarity(a: str, b: str) -> float:
    """1.0 for equal strings, down to 0.0 for strings with nothing in common."""
    return 1.0 if a == b else SequenceMatcher(None, a, b).ratio()


class TextTracker:
    """Turns per-frame readings into appearance events."""

    def __init__(
        self,
        max_gap: int = 5,
        min_iou: float = 0.3,
        min_similarity: float = 0.8,
        min_frames: int = 1,
    ) -> None:
        self.max_gap = max_gap
        self.min_iou = min_iou
        self.min_similarity = min_similarity
        self.min_frames = min_frames
        self._open: list[_Track] = []

    def update(
        self,
        frame: int,
        timestamp: float,
        boxes: np.ndarray,
        texts: Sequence[str],
        scores: Sequence[float] | np.ndarray,
        matched: Sequence[bool] | np.ndarray | None = None,
    ) -> list[Appearance]:
        """Add one frame's readings ("" = none; `matched`: which matched REC_PATTERN);
        return the appearances that ended."""
        ended = self._expire(frame)
        bounds = as_xyxy(boxes)
        readings = [i for i, text in enumerate(texts) if text]
        for i, track in self._pairs(bounds, texts, readings):
            x0, y0, x1, y1 = (float(v) for v in bounds[i])
            box = (x0, y0, x1, y1)
            if track is None:
                track = _Track(
                    frame, timestamp, frame, timestamp, box, texts[i], (-1.0, "", frame, box)
                )
                self._open.append(track)
            track.add(
                frame,
                timestamp,
                box,
                texts[i],
                float(scores[i]),
                bool(matched is not None and matched[i]),
            )
        return ended

    def close(self) -> list[Appearance]:
        """End every open appearance (end of stream)."""
        ended = [t.appearance() for t in self._open if t.frames >= self.min_frames]
        self._open = []
        return ended

    def _expire(self, frame: int) -> list[Appearance]:
        gone = [t for t in self._open if frame - t.last_frame > self.max_gap]
        self._open = [t for t in self._open if frame - t.last_frame <= self.max_gap]
        return [t.appearance() for t in gone if t.frames >= self.min_frames]

    def _pairs(self, bounds: np.ndarray, texts: Sequence[str], readings: list[int]):
        """(reading, open track or None) pairs, best overlaps matched first."""
        candidates = []
        for i in readings:
            for t, track in enumerate(self._open):
                overlap = iou(bounds[i], track.box)
                if (
                    overlap >= self.min_iou
                    and similarity(texts[i], track.text) >= self.min_similarity
                ):
                    candidates.append((overlap, i, t))
        candidates.sort(reverse=True)
        matched: dict[int, _Track | None] = {}
        used: set[int] = set()
        for _, i, t in candidates:
            if i not in matched and t not in used:
                matched[i] = self._open[t]
                used.add(t)
        return [(i, matched.get(i)) for i in readings]
