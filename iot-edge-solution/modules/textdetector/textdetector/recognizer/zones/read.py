"""Reading frames with ZONES: each box read under its zone's constraint, named by zone.

A box belongs to the first zone of its source holding its centre. Boxes are grouped by
the constraint they are read under (a zone's, or the usual REC_PATTERN/none for boxes
outside every zone or in a zone without one) and each group is read across all the
frames in one batched pass, runs of boxes joined as usual. With `outside: drop` boxes
outside every zone are left out before reading.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ...results import Detections
from ..constrain import Constraint
from ..recognizer import KEEP, TextRecognizer
from .compiled import CompiledZones

Frame = tuple[str, np.ndarray, Detections]  # source id, image, detections
Row = tuple[int, np.ndarray, float, str, float, str, bool, str, str]


def read_zoned(
    recognizer: TextRecognizer, zones: CompiledZones, frames: Sequence[Frame]
) -> tuple[list[Detections], float]:
    """Each frame's detections read zone by zone (see the module docstring), with the
    zone and pattern of every box; and the ms spent per frame."""
    if not frames:
        return [], 0.0
    start = time.perf_counter()
    groups: dict[int, list[tuple[int, list[int]]]] = {}
    chosen: dict[int, Constraint | None] = {}
    names: list[list[str]] = []
    for number, (source, _, det) in enumerate(frames):
        bound = zones.for_source(source)
        assigned = zones.assign(source, det.boxes)
        names.append([bound[z].zone.name if z >= 0 else "" for z in assigned])
        by_key: dict[int, list[int]] = {}
        for index, z in enumerate(assigned):
            if z < 0 and zones.outside == "drop":
                continue
            constraint = bound[z].constraint if z >= 0 else None
            key = id(constraint) if constraint is not None else 0
            chosen[key] = constraint
            by_key.setdefault(key, []).append(index)
        for key, indices in by_key.items():
            groups.setdefault(key, []).append((number, indices))
    rows: list[list[Row]] = [[] for _ in frames]
    for key, members in groups.items():
        constraint = chosen[key]
        readings = recognizer.recognize_many(
            [(frames[n][1], frames[n][2].boxes[idx]) for n, idx in members],
            constraint=KEEP if constraint is None else constraint,
        )
        for (number, indices), read in zip(members, readings):
            det = frames[number][2]
            sub = Detections(det.boxes[indices], det.scores[indices], det.image_size)
            sub = sub.joined(read.runs, read.grown)
            joined = {i for run in read.runs for i in run[1:]}
            kept = [indices[k] for k in range(len(indices)) if k not in joined]
            raw = read.raw if read.raw is not None else read.texts
            matched = read.matched if read.matched is not None else np.zeros(len(kept), bool)
            for k, original in enumerate(kept):
                rows[number].append(
                    (
                        original,
                        sub.boxes[k],
                        float(sub.scores[k]),
                        read.texts[k],
                        float(read.scores[k]),
                        raw[k],
                        bool(matched[k]),
                        read.pattern,
                        names[number][original],
                    )
                )
    ms = (time.perf_counter() - start) * 1000.0 / len(frames)
    return [_merged(det, rows[n]) for n, (_, _, det) in enumerate(frames)], ms


def _merged(det: Detections, rows: list[Row]) -> Detections:
    """The frame's boxes and readings in detection order, with their zones and patterns."""
    rows = sorted(rows, key=lambda row: row[0])
    boxes = np.asarray([r[1] for r in rows], np.float32).reshape(-1, 4, 2)
    scores = np.asarray([r[2] for r in rows], np.float32)
    return Detections(boxes, scores, det.image_size).with_zones(
        texts=tuple(r[3] for r in rows),
        text_scores=np.asarray([r[4] for r in rows], np.float32),
        raw_texts=tuple(r[5] for r in rows),
        matched=np.asarray([r[6] for r in rows], bool),
        patterns=tuple(r[7] for r in rows),
        zones=tuple(r[8] for r in rows),
    )
