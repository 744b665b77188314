"""Line-level reuse: read only the lines that are new or whose crop changed.

Each stream keeps a `LineMemory` of its last reading: every line's box, its reading and
the grey crop it was read from (the anchor). A line of a new frame reuses a remembered
reading when its box overlaps the remembered box (IoU) and its crop still looks like the
anchor (normalised crops compared column block by column block, so one changed character
counts), unless its confidence is close to REC_MIN_SCORE (kept or dropped by a hair, it is
read again); every other line is read, the lines of all frames batched together. A full
re-read happens at least every `max_age_s` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .. import geometry
from ..recognizer import TextRecognizer, read_regions
from ..results import Detections

CROP_SIZE = (96, 16)  # width, height of a line's crop signature
COLUMNS = 12  # column blocks compared across a crop
EPS = 1e-3


def crop_signature(grey: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A line's crop (axis-aligned bounds) shrunk to CROP_SIZE, mean 0 and contrast 1."""
    height, width = grey.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x1 <= x0 or y1 <= y0:
        return np.zeros(CROP_SIZE[::-1], np.float32)
    crop = cv2.resize(grey[y0:y1, x0:x1], CROP_SIZE, interpolation=cv2.INTER_AREA)
    crop = crop.astype(np.float32)
    return (crop - crop.mean()) / (crop.std() + EPS)


def crop_changed(current: np.ndarray, anchor: np.ndarray, threshold: float) -> bool:
    """Whether any column block of the crops differs by more than `threshold` (in
    contrast units, mean over the block)."""
    diff = np.abs(current - anchor)
    columns = cv2.resize(diff, (COLUMNS, 1), interpolation=cv2.INTER_AREA)
    return bool(columns.max() > threshold)


@dataclass(frozen=True)
class Reading:
    """A remembered line's reading and the crop it was read from."""

    text: str
    score: float
    anchor: np.ndarray


@dataclass
class LineMemory:
    """One stream's last reading: boxes (xyxy), readings and anchor crops."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    texts: tuple[str, ...] = ()
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    anchors: list[np.ndarray] = field(default_factory=list)
    read_at: float | None = None  # time of the last full read
    head_start_s: float = 0.0  # the first full read counts as this much older (FrameGate)

    def plan(
        self, crops: list[np.ndarray], det: Detections, timestamp: float, rules: ReuseRules
    ) -> dict[int, Reading]:
        """{line of `det`: the remembered reading it reuses}; {} = read all."""
        if self.read_at is None or not 0.0 <= timestamp - self.read_at < rules.max_age_s:
            return {}
        if not len(det) or not len(self.boxes):
            return {}
        overlap = geometry.iou_matrix(det.xyxy(), self.boxes)
        reuse: dict[int, Reading] = {}
        taken: set[int] = set()
        for i in np.argsort(-overlap.max(axis=1)):
            j = int(np.argmax(overlap[i]))
            if overlap[i, j] < rules.iou or j in taken:
                continue
            if rules.uncertain(float(self.scores[j])):
                continue  # near REC_MIN_SCORE: a small change in the crop flips it
            if not crop_changed(crops[i], self.anchors[j], rules.crop_threshold):
                reuse[int(i)] = Reading(self.texts[j], float(self.scores[j]), self.anchors[j])
                taken.add(j)
        return reuse

    def remember(
        self,
        result: Detections,
        crops: list[np.ndarray],
        reuse: dict[int, Reading],
        timestamp: float,
    ) -> None:
        """Keep this frame's lines: boxes now, readings and anchors from when each was read."""
        anchors = [reuse[i].anchor if i in reuse else crops[i] for i in range(len(crops))]
        if not reuse:
            first = self.read_at is None
            self.read_at = timestamp - (self.head_start_s if first else 0.0)
        self.boxes = result.xyxy().astype(np.float32)
        self.texts = result.texts or ()
        self.scores = _scores(result)
        self.anchors = anchors


@dataclass(frozen=True)
class ReuseRules:
    """When a line's reading may be reused."""

    max_age_s: float = 2.0
    iou: float = 0.5
    crop_threshold: float = 0.45
    min_score: float = 0.5  # REC_MIN_SCORE: readings below it are dropped
    margin: float = 0.35  # readings this close to min_score are always read again

    def uncertain(self, score: float) -> bool:
        """Whether a reading is too close to the drop threshold to be reused."""
        return abs(score - self.min_score) <= self.margin


@dataclass(frozen=True)
class RegionRead:
    """A frame's detections with texts, the lines read in it (`fresh`), lines reused."""

    detections: Detections
    fresh: Detections
    reused: int


def read_changed(
    recognizer: TextRecognizer,
    frames: Sequence[tuple[LineMemory, np.ndarray, Detections, float]],
    rules: ReuseRules,
) -> tuple[list[RegionRead], float]:
    """Read the new or changed lines of (memory, image, detections, timestamp) frames in
    one batch, reuse the others; update each memory. Returns results and ms per frame."""
    plans = []
    for memory, image, det, timestamp in frames:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        crops = [crop_signature(grey, box) for box in det.xyxy()]
        plans.append((crops, memory.plan(crops, det, timestamp, rules)))
    subsets = [
        _subset(det, [i for i in range(len(det)) if i not in reuse])
        for (_, _, det, _), (_, reuse) in zip(frames, plans)
    ]
    read, ms = read_regions(
        recognizer, [image for _, image, _, _ in frames], subsets, join=False
    )  # aligned with the subsets by index: a pattern must not join their boxes
    out = []
    for (memory, _, det, timestamp), (crops, reuse), fresh in zip(frames, plans, read):
        result = _merge(det, reuse, fresh)
        memory.remember(result, crops, reuse, timestamp)
        out.append(RegionRead(result, fresh, len(reuse)))
    return out, ms


def _subset(det: Detections, keep: list[int]) -> Detections:
    return Detections(det.boxes[keep], det.scores[keep], det.image_size)


def _merge(det: Detections, reuse: dict[int, Reading], fresh: Detections) -> Detections:
    texts, scores = [""] * len(det), np.zeros(len(det), np.float32)
    read_iter = zip(fresh.texts or (), _scores(fresh))
    for i in range(len(det)):
        if i in reuse:
            texts[i], scores[i] = reuse[i].text, reuse[i].score
        else:
            texts[i], scores[i] = next(read_iter)
    return det.with_texts(tuple(texts), scores)


def _scores(det: Detections) -> np.ndarray:
    return det.text_scores if det.text_scores is not None else np.zeros(0, np.float32)
