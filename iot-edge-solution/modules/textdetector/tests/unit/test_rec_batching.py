"""The recogniser's batch plan (REC_PADDING): which crops share a model call, how wide."""

from __future__ import annotations

import numpy as np
import pytest

from textdetector.recognizer.batching import MAX_WIDTH, MIN_WIDTH, line_width, plan


def crop(width: int, height: int = 48) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


@pytest.mark.parametrize(
    ("width", "expected"),
    [(10, MIN_WIDTH), (320, 320), (321, 352), (352, 352), (353, 384), (10**6, MAX_WIDTH)],
)
def test_a_line_width_is_its_own_rounded_up_to_32(width, expected):
    assert line_width(crop(width)) == expected


def test_line_width_follows_the_aspect_not_the_size():
    assert line_width(crop(700, 96)) == line_width(crop(350, 48)) == 352


def test_line_padding_groups_equal_widths_and_keeps_each_width():
    crops = [crop(w) for w in (100, 700, 330, 200, 340, 690, 50, 20, 10)]
    parts = plan(crops, size=3, padding="line")
    assert sorted(i for part, _ in parts for i in part) == list(range(len(crops)))
    for part, width in parts:
        assert len(part) <= 3
        assert {line_width(crops[i]) for i in part} == {width}
    assert [w for _, w in parts] == [320, 320, 352, 704]  # five narrow crops: two calls


def test_batch_padding_pads_each_chunk_to_its_widest_as_paddleocr():
    crops = [crop(w) for w in (100, 700, 330, 200, 340)]
    parts = plan(crops, size=2, padding="batch")
    assert [list(part) for part, _ in parts] == [[0, 3], [2, 4], [1]]
    assert [w for _, w in parts] == [320, 340, 700]


def test_no_crops_no_batches():
    assert plan([], 6, "line") == [] and plan([], 6, "batch") == []
