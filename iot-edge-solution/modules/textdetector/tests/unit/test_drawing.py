"""The drawing module: boxes, labels (which text, which colour), the reused mark, the font."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from textdetector import drawing
from textdetector.drawing import annotate, font, labels, patches
from textdetector.results import Detections

WHITE = (255, 255, 255)


def _boxes(*rects: tuple[int, int, int, int]) -> np.ndarray:
    return np.array(
        [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for x0, y0, x1, y1 in rects], np.float32
    )


def _read(texts, raw=None, matched=None, zones=None, size=(240, 480)) -> Detections:
    n = len(texts)
    rects = [(40, 60 + 50 * i, 300, 90 + 50 * i) for i in range(n)]
    d = Detections(_boxes(*rects), np.full(n, 0.9, np.float32), size)
    if zones is not None:
        return d.with_zones(
            tuple(texts), np.full(n, 0.8), raw, np.asarray(matched), ("p",) * n, zones
        )
    return d.with_texts(tuple(texts), np.full(n, 0.8), raw, matched, "p" if raw else "")


def _patch(text: str) -> np.ndarray:
    """The patch of a label `TEXT SCORE` as annotate draws it."""
    body, score = text.rsplit(" ", 1)
    return patches.label_patch(body, score, drawing.font_size((240, 480)), labels.READ)


def _label_area(drawn: np.ndarray, text: str, left: int = 40, top: int = 60) -> np.ndarray:
    """Where the label of a box with this top-left corner goes: just above it."""
    height, width = _patch(text).shape[:2]
    return drawn[top - height : top, left : left + width]


def test_annotate_draws_on_a_copy_and_leaves_the_frame_alone():
    image = np.full((240, 480, 3), 255, np.uint8)
    drawn = annotate(image, _read(["GATE 7"]))
    assert (image == 255).all()
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    edge = drawn[75, 299:302].astype(int)  # the box's right edge (anti-aliased)
    assert (edge[:, 1] - edge[:, 0] > 100).any() and (edge[:, 1] - edge[:, 2] > 100).any()
    assert tuple(drawn[75, 170]) == WHITE  # inside the box: untouched
    assert np.array_equal(_label_area(drawn, "GATE 7 0.80"), _patch("GATE 7 0.80"))
    assert (_patch("GATE 7 0.80").max(axis=2) < 60).any()  # dark text on the box colour


def test_a_matched_box_shows_the_constrained_text_an_unmatched_one_the_raw_text():
    d = _read(
        ["MSCU1234565", "TGHU7654321"], raw=("MSCU1234S65", "TGHU765432l"), matched=[True, False]
    )
    assert labels.label(d, 0) == ("MSCU1234565 0.80", labels.READ)
    assert labels.label(d, 1) == ("TGHU765432l 0.80", labels.UNMATCHED)
    assert labels.label(d, 1, show_scores=False) == ("TGHU765432l", labels.UNMATCHED)


def test_labels_without_text_zones_and_empty_readings():
    bare = Detections(_boxes((1, 1, 9, 9)), np.array([0.734], np.float32), (20, 20))
    assert labels.label(bare, 0) == ("0.73", labels.READ)
    assert labels.label(bare, 0, show_scores=False)[0] == ""
    assert labels.label(_read([""]), 0) == ("", labels.UNREAD)
    zoned = _read(["DOCK 7", "X"], raw=("DOCK 7", "X"), matched=[True, True], zones=("gate", ""))
    assert labels.label(zoned, 0)[0] == "[gate] DOCK 7 0.80"
    assert labels.label(zoned, 1)[0] == "X 0.80"


def test_the_reused_mark_sits_in_the_top_right_corner():
    image = np.full((240, 480, 3), 255, np.uint8)
    plain = annotate(image, Detections.empty((240, 480)))
    marked = annotate(image, Detections.empty((240, 480)), reused=True)
    assert (plain == 255).all()
    corner = marked[4:20, 430:476]
    assert (corner == labels.REUSED).all(axis=2).mean() > 0.4
    assert (marked[120:, :240] == 255).all()


def test_labels_at_the_frame_edges_stay_inside_it():
    """A box in the top-right corner: its label goes inside the box, clipped to the frame."""
    d = Detections(
        _boxes((440, 0, 479, 20), (-30, 230, 20, 260)), np.full(2, 0.9, np.float32), (240, 480)
    )
    d = d.with_texts(("A LONG LABEL AT THE EDGE", "B"), np.full(2, 0.9))
    drawn = annotate(np.zeros((240, 480, 3), np.uint8), d)
    assert (drawn[2:20, 300:479] == labels.READ).all(axis=2).any()  # moved left, inside


def test_a_grey_or_bgra_frame_is_drawn_in_colour():
    grey = np.full((60, 80), 128, np.uint8)
    drawn = annotate(
        grey, Detections(_boxes((5, 20, 50, 40)), np.array([0.9], np.float32), (60, 80))
    )
    assert drawn.shape == (60, 80, 3) and grey.shape == (60, 80)
    bgra = np.zeros((60, 80, 4), np.uint8)
    assert annotate(bgra, Detections.empty((60, 80)), reused=True).shape == (60, 80, 3)


def test_font_size_follows_the_frame():
    assert drawing.font_size((720, 1280, 3)) == 18
    assert drawing.font_size((100, 100, 3)) == 12
    assert drawing.line_width((1080, 1920, 3)) == 4


def test_without_a_cjk_font_labels_fall_back_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(font, "CJK_FONTS", ())
    for cached in (font.label_font, font._warn_once, patches.text_patch):
        cached.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=font.__name__):
            drawn = annotate(np.full((240, 480, 3), 255, np.uint8), _read(["ABC", "DEF"]))
            annotate(np.full((100, 100, 3), 255, np.uint8), _read(["GHI"], size=(100, 100)))
        area = _label_area(drawn, "ABC 0.80")
        assert np.array_equal(area, _patch("ABC 0.80"))
        assert (area == labels.READ).all(axis=2).mean() > 0.5
        warnings = [r for r in caplog.records if "fonts-wqy-microhei" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        for cached in (font.label_font, font._warn_once, patches.text_patch):
            cached.cache_clear()


@pytest.mark.parametrize("text", ["", " ", "a" * 300, "\u200b", "🙂"])
def test_odd_texts_draw_without_error(text):
    drawn = annotate(np.zeros((240, 480, 3), np.uint8), _read([text]))
    assert drawn.shape == (240, 480, 3)


def test_a_reading_whose_score_changes_is_not_rendered_again():
    """Text and score are rendered apart: the next frame's new score renders only itself."""
    image = np.full((240, 480, 3), 255, np.uint8)
    annotate(image, _read(["A READING SEEN BEFORE"]))  # text_scores 0.80
    misses = patches.text_patch.cache_info().misses
    again = _read(["A READING SEEN BEFORE"])
    again = again.with_texts(again.texts, np.array([0.8123]))  # "0.81": a new score
    annotate(image, again)
    assert patches.text_patch.cache_info().misses == misses + 1


def test_threads_drawing_at_once_get_the_same_labels():
    """The run loop, preview viewers and archive uploads draw at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    for cached in (patches.glyph, patches.text_mask, patches.text_patch):
        cached.cache_clear()
    image = np.full((240, 480, 3), 255, np.uint8)
    found = _read(["THREADS 中文 1", "THREADS 中文 2", "THREADS 中文 3"])
    with ThreadPoolExecutor(8) as pool:
        drawn = list(pool.map(lambda _: annotate(image, found), range(32)))
    assert all(np.array_equal(d, drawn[0]) for d in drawn)
    assert not np.array_equal(drawn[0], image)
