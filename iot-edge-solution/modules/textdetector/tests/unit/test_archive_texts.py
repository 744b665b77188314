"""The text read in each box travels with an archived frame, as ASCII blob metadata."""

from __future__ import annotations

from urllib.parse import unquote

import numpy as np

from textdetector.results import Detections, FrameResult
from textdetector.sinks.archive.naming import MAX_BOXES, TEXT_BUDGET, metadata


def result(texts: list[str] | None) -> FrameResult:
    count = len(texts) if texts is not None else 2
    boxes = np.tile(np.array([[0, 0], [10, 0], [10, 5], [0, 5]], np.float32), (count, 1, 1))
    det = Detections(boxes, np.full(count, 0.9, np.float32), (100, 100))
    if texts is not None:
        det = det.with_texts(tuple(texts), np.linspace(0.5, 1.0, count, dtype=np.float32))
    return FrameResult(4, 1.0, "cam", det)


def test_texts_round_trip_in_ascii_aligned_with_boxes():
    texts = ["EXIT", "", "a,b", "出口 → 7", "100%"]
    meta = metadata(result(texts), 0.0, "m", "annotated")
    assert meta["texts"].isascii() and meta["textscores"].isascii()
    assert [unquote(t) for t in meta["texts"].split(",")] == texts
    assert meta["textscores"] == "0.500,0.625,0.750,0.875,1.000"
    assert len(meta["boxes"].split(";")) == len(meta["texts"].split(","))


def test_without_reading_no_text_keys():
    assert "texts" not in metadata(result(None), 0.0, "m", "annotated")


def test_long_texts_are_shortened_to_fit():
    texts = ["注意" * 200] * (MAX_BOXES + 10)
    meta = metadata(result(texts), 0.0, "m", "annotated")
    parts = meta["texts"].split(",")
    assert len(parts) == MAX_BOXES and len(meta["texts"]) <= TEXT_BUDGET
    assert unquote(parts[0]) and "注意".startswith(unquote(parts[0])[:2])
    assert sum(len(k) + len(v) for k, v in meta.items()) < 8 * 1024
