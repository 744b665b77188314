"""The readings of one image's regions, aligned with its boxes (after any joins)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .constrain import Reading


@dataclass(frozen=True)
class Readings:
    """The text read in each detected region of one image, aligned with its boxes.

    `texts[i]` is the reading of box i, or "" when nothing was read or its confidence
    fell below `min_score`; `scores[i]` (float32) is the reading's mean confidence.
    With REC_PATTERN (`pattern` its name), `texts[i]` is the most probable matching
    string and `scores[i]` its probability where `matched[i]`, and `raw[i]` the
    unconstrained reading.
    """

    texts: tuple[str, ...]
    scores: np.ndarray
    min_score: float = 0.0
    turned: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), compare=False)
    raw: tuple[str, ...] | None = None
    matched: np.ndarray | None = None
    pattern: str = ""
    runs: tuple[tuple[int, ...], ...] = ()
    grown: dict[int, np.ndarray] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls,
        readings: list[Reading],
        flips: np.ndarray,
        minimum: float,
        pattern: str = "",
        runs: Sequence[Sequence[int]] = (),
        grown: dict[int, np.ndarray] | None = None,
        short: float = 0.0,
    ) -> Readings:
        """One image's readings, the boxes of each run (after its first) left out: the
        run's reading stands for their union (`Detections.joined`); `grown` boxes were
        read extended to these quads; `short`: REC_MIN_SCORE_SHORT (`Reading.kept`)."""
        joined = {i for run in runs for i in run[1:]}
        order = [i for i in range(len(readings)) if i not in joined]
        kept = [readings[i].kept(minimum, short) for i in order]
        texts = tuple(readings[i].text if k else "" for i, k in zip(order, kept))
        scores = np.array([readings[i].score for i in order], np.float32)
        if not pattern:
            return cls(texts, scores, minimum, flips[order])
        raw = tuple(readings[i].raw if k else "" for i, k in zip(order, kept))
        matched = np.array([k and bool(readings[i].matched) for i, k in zip(order, kept)], bool)
        return cls(
            texts, scores, minimum, flips[order], raw, matched, pattern, _runs(runs), grown or {}
        )

    @classmethod
    def empty(cls, count: int = 0, min_score: float = 0.0) -> Readings:
        return cls(("",) * count, np.zeros(count, np.float32), min_score, np.zeros(count, bool))

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def read(self) -> np.ndarray:
        """Boolean mask of the regions with a reading."""
        return np.array([bool(text) for text in self.texts], bool)

    def to_dict(self) -> dict[str, Any]:
        out = {"texts": list(self.texts), "text_scores": [round(float(s), 4) for s in self.scores]}
        if self.pattern and self.raw is not None and self.matched is not None:
            out |= {
                "raw_texts": list(self.raw),
                "matched": [bool(m) for m in self.matched],
                "pattern": self.pattern,
            }
        return out


def _runs(runs: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(i) for i in run) for run in runs)
