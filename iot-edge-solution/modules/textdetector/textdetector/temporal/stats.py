"""Per-source reuse and reading-quality counters (summary and /metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class ReuseStats:
    """What one source cost and what its readings looked like."""

    frames_inferred: int = 0
    frames_reused: int = 0
    lines_read: int = 0
    lines_reused: int = 0
    empty_reads: int = 0
    score_sum: float = 0.0

    def add_read(self, texts: tuple[str, ...], scores: np.ndarray, reused: int = 0) -> None:
        """Count the lines read in a frame (`texts`, `scores`) and the lines reused."""
        self.lines_reused += reused
        self.lines_read += len(texts)
        self.empty_reads += sum(1 for text in texts if not text)
        self.score_sum += float(sum(s for t, s in zip(texts, scores) if t))

    def to_dict(self, elapsed_s: float | None = None) -> dict[str, Any]:
        read_ok = self.lines_read - self.empty_reads
        out: dict[str, Any] = {
            "frames_inferred": self.frames_inferred,
            "frames_reused": self.frames_reused,
            "lines_read": self.lines_read,
            "lines_reused": self.lines_reused,
            "mean_confidence": round(self.score_sum / read_ok, 4) if read_ok else 0.0,
            "empty_crop_rate": round(self.empty_reads / self.lines_read, 4)
            if self.lines_read
            else 0.0,
        }
        if elapsed_s:
            out["reads_per_s"] = round(self.lines_read / elapsed_s, 2)
        return out
