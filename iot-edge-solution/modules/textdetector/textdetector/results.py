"""The typed result value that flows from the detector to every sink."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import geometry


@dataclass(frozen=True)
class Detections:
    """Text regions found in one image.

    `boxes` is a float32 array of shape (N, 4, 2): quadrilaterals in source-image
    pixels, points ordered top-left, top-right, bottom-right, bottom-left.
    `scores` is a float32 array of shape (N,): mean text probability inside each box.
    `texts` (when text is read) holds the string read in each box, "" where nothing was
    read above REC_MIN_SCORE, and `text_scores` each reading's mean confidence.
    With REC_PATTERN (`pattern` its name), `texts[i]` is the most probable string the
    pattern matches and `text_scores[i]` its probability where `matched[i]`, and
    `raw_texts[i]` the unconstrained reading. With ZONES, `zones[i]` names the zone
    holding box i ("" outside every zone) and `patterns[i]` the pattern it was read
    under ("" none); `pattern` is then unused. `turned` ("ccw", "cw", "half") says a
    still was read turned a quarter or half a turn (REC_UPRIGHT): its boxes are still in
    its own pixels, and its lines are assembled in the turned still's reading order.
    """

    boxes: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]  # (height, width) of the source image
    texts: tuple[str, ...] | None = None
    text_scores: np.ndarray | None = None
    raw_texts: tuple[str, ...] | None = None
    matched: np.ndarray | None = None
    pattern: str = ""
    patterns: tuple[str, ...] | None = None
    zones: tuple[str, ...] | None = None
    turned: str = ""  # "ccw", "cw" (a quarter), "half": the turn it was read in (REC_UPRIGHT)

    def with_zones(
        self,
        texts: tuple[str, ...],
        text_scores: np.ndarray,
        raw_texts: tuple[str, ...],
        matched: np.ndarray,
        patterns: tuple[str, ...],
        zones: tuple[str, ...],
    ) -> Detections:
        """These boxes read zone by zone: each box's text, zone and pattern."""
        if not len(texts) == len(patterns) == len(zones) == len(self):
            raise ValueError(f"{len(texts)} zoned readings for {len(self)} boxes")
        return dataclasses.replace(
            self.with_texts(texts, text_scores, raw_texts, matched),
            patterns=tuple(patterns),
            zones=tuple(zones),
        )

    def with_texts(
        self,
        texts: tuple[str, ...],
        text_scores: np.ndarray,
        raw_texts: tuple[str, ...] | None = None,
        matched: np.ndarray | None = None,
        pattern: str = "",
    ) -> Detections:
        """These boxes with the text read in each (and, with a pattern, the raw readings
        and whether each matched)."""
        if len(texts) != len(self):
            raise ValueError(f"{len(texts)} readings for {len(self)} boxes")
        return dataclasses.replace(
            self,
            texts=tuple(texts),
            text_scores=np.asarray(text_scores, np.float32),
            raw_texts=None if raw_texts is None else tuple(raw_texts),
            matched=None if matched is None else np.asarray(matched, bool),
            pattern=pattern,
        )

    def joined(
        self, runs: tuple[tuple[int, ...], ...], grown: dict[int, np.ndarray] | None = None
    ) -> Detections:
        """Each run of boxes (read as one pattern match) replaced by its axis-aligned
        union, at its first box's place (the run's detection score is their mean), and
        each `grown` box by the extended quad it was read in."""
        if not runs and not grown:
            return self
        heads = {run[0]: run for run in runs}
        members = {i for run in runs for i in run[1:]}
        grown = grown or {}
        boxes, scores = [], []
        for i in range(len(self)):
            if i in members:
                continue
            run = list(heads.get(i, (i,)))
            box = grown.get(i, self.boxes[i])
            boxes.append(geometry.union_quad(self.boxes[run]) if len(run) > 1 else box)
            scores.append(float(self.scores[run].mean()))
        return dataclasses.replace(
            self,
            boxes=np.asarray(boxes, np.float32).reshape(-1, 4, 2),
            scores=np.asarray(scores, np.float32),
        )

    def pattern_fields(self, index: int) -> dict[str, Any]:
        """REC_PATTERN facts of box `index`: `rawText` (the unconstrained reading),
        `pattern` (its name) and `matched`; with ZONES also `zone` (its name, "" outside
        every zone); {} without either."""
        zone = {} if self.zones is None else {"zone": self.zones[index]}
        pattern = self.pattern if self.patterns is None else self.patterns[index]
        if not pattern or self.raw_texts is None or self.matched is None:
            return zone
        return {
            "rawText": self.raw_texts[index],
            "pattern": pattern,
            "matched": bool(self.matched[index]),
            **zone,
        }

    def pattern_extensions(self, index: int) -> dict[str, str]:
        """`pattern_fields` as strings (AVA extensions): matched "true" or "false"."""
        return {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in self.pattern_fields(index).items()
        }

    def take(self, keep: np.ndarray) -> Detections:
        """The boxes where the bool mask `keep` holds, with what was read in each."""
        keep = np.asarray(keep, bool).reshape(-1)
        if len(keep) != len(self):
            raise ValueError(f"a mask of {len(keep)} for {len(self)} boxes")
        chosen = np.flatnonzero(keep)

        def pick(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
            return None if values is None else tuple(values[i] for i in chosen)

        return dataclasses.replace(
            self,
            boxes=self.boxes[keep].reshape(-1, 4, 2),
            scores=self.scores[keep],
            texts=pick(self.texts),
            text_scores=None if self.text_scores is None else self.text_scores[keep],
            raw_texts=pick(self.raw_texts),
            matched=None if self.matched is None else self.matched[keep],
            patterns=pick(self.patterns),
            zones=pick(self.zones),
        )

    def plain(self) -> bool:
        """Whether every box was read with no pattern and no zones (texts and scores only)."""
        return (
            self.texts is not None
            and self.text_scores is not None
            and self.raw_texts is None
            and self.zones is None
        )

    def extended(self, other: Detections) -> Detections:
        """These boxes, then `other`'s (the same image, both `plain` readings)."""
        if not (self.plain() and other.plain()) or self.image_size != other.image_size:
            raise ValueError("only plain readings of one image extend each other")
        assert self.texts is not None and other.texts is not None  # plain() said so
        scores = (self.text_scores, other.text_scores)
        return dataclasses.replace(
            self,
            boxes=np.concatenate([self.boxes, other.boxes]).astype(np.float32).reshape(-1, 4, 2),
            scores=np.concatenate([self.scores, other.scores]).astype(np.float32),
            texts=self.texts + other.texts,
            text_scores=np.concatenate([np.asarray(s, np.float32) for s in scores]),
        )

    @classmethod
    def empty(cls, image_size: tuple[int, int]) -> Detections:
        return cls(np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32), image_size)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def xyxy(self) -> np.ndarray:
        """Axis-aligned bounds, shape (N, 4): x_min, y_min, x_max, y_max."""
        return geometry.xyxy(self.boxes)

    def iou(self, other: Detections) -> np.ndarray:
        """IoU of each of these boxes (rows) with each of `other`'s (columns), axis-aligned."""
        return geometry.iou_matrix(self.xyxy(), other.xyxy())

    def mean_iou(self, other: Detections) -> tuple[float, int]:
        """(sum of greedily matched IoUs, boxes counted) against `other`; see geometry."""
        return geometry.matched_iou(self.xyxy(), other.xyxy())

    def lines(self) -> list:
        """The read boxes assembled into lines in reading order (`recognizer.lines.Line`:
        text, score, union box, parts); [] when no text was read."""
        if self.texts is None or self.text_scores is None:
            return []
        from .recognizer.lines import assemble

        if not self.turned:
            return assemble(self.boxes, self.texts, self.text_scores)
        # a still read turned: its lines in the turned (upright) reading order
        upright = geometry.turned(self.boxes, self.turned, self.image_size)
        return [
            dataclasses.replace(line, box=self._turned_back(line.box))
            for line in assemble(upright, self.texts, self.text_scores)
        ]

    def _turned_back(self, box: np.ndarray) -> np.ndarray:
        return geometry.turned_back(box[None], self.turned, self.image_size)[0]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": len(self),
            "boxes": np.round(self.boxes, 1).tolist(),
            "scores": [round(float(s), 4) for s in self.scores],
        }
        if self.texts is not None and self.text_scores is not None:
            out["texts"] = list(self.texts)
            out["text_scores"] = [round(float(s), 4) for s in self.text_scores]
            out["lines"] = [line.to_dict() for line in self.lines()]
        if self.pattern and self.raw_texts is not None and self.matched is not None:
            out["raw_texts"] = list(self.raw_texts)
            out["matched"] = [bool(m) for m in self.matched]
            out["pattern"] = self.pattern
        if self.zones is not None and self.patterns is not None:
            out["raw_texts"] = list(self.raw_texts or ())
            out["matched"] = [bool(m) for m in (self.matched if self.matched is not None else ())]
            out["patterns"] = list(self.patterns)
            out["zones"] = list(self.zones)
        if self.turned:
            out["turned"] = self.turned
        return out


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent in each detector stage for one image."""

    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    postprocess_ms: float = 0.0
    recognition_ms: float = 0.0

    @property
    def detection_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms

    @property
    def total_ms(self) -> float:
        return self.detection_ms + self.recognition_ms

    def to_dict(self) -> dict[str, float]:
        return {
            "preprocess_ms": round(self.preprocess_ms, 2),
            "inference_ms": round(self.inference_ms, 2),
            "postprocess_ms": round(self.postprocess_ms, 2),
            "recognition_ms": round(self.recognition_ms, 2),
            "total_ms": round(self.total_ms, 2),
        }


@dataclass(frozen=True)
class FrameResult:
    """Detections for one video frame, with where and when it came from.

    `image` is the decoded BGR frame for sinks that need pixels (archives, drawings);
    it is never serialised. `reused`: the frame did not change, so it carries the result
    of its stream's last inferred frame (TEMPORAL_REUSE) instead of its own.
    """

    index: int
    timestamp: float  # seconds: position in a file, or wall-clock time for live sources
    source_id: str
    detections: Detections
    timings: Timings = field(default_factory=Timings)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        height, width = self.detections.image_size
        return {
            "frame": self.index,
            "timestamp": round(self.timestamp, 3),
            "source": self.source_id,
            "width": width,
            "height": height,
            "reused": self.reused,
            **self.detections.to_dict(),
            "timings": self.timings.to_dict(),
        }
