"""Attach readings to detections: every region of several frames read in shared batches."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from ..results import Detections
from .recognizer import TextRecognizer


def read_regions(
    recognizer: TextRecognizer,
    images: Sequence[np.ndarray],
    detections: Sequence[Detections],
    join: bool = True,
    still: bool = False,
    tall_variants: bool = True,
) -> tuple[list[Detections], float]:
    """Each frame's detections with the text read in its boxes, and ms spent per frame.

    The crops of all `images` go through the recogniser together, so many regions (or
    frames) cost about one batched model call per width bucket, not one call per region.
    With REC_PATTERN, boxes read as one match are joined into their union box (fewer
    boxes); `join=False` keeps the boxes as they are (callers that align by index).
    `still`: the images are stills (REC_UPSCALE applies). `tall_variants=False`: tall
    regions are read one way only (a still about to be read turned, `upright.py`).
    """
    if not images:
        return [], 0.0
    start = time.perf_counter()
    readings = recognizer.recognize_many(
        [(image, det.boxes) for image, det in zip(images, detections)],
        join,
        still=still,
        tall_variants=tall_variants,
    )
    per_frame_ms = (time.perf_counter() - start) * 1000.0 / len(images)
    read = [
        det.joined(r.runs, r.grown).with_texts(r.texts, r.scores, r.raw, r.matched, r.pattern)
        for det, r in zip(detections, readings)
    ]
    return read, per_frame_ms
