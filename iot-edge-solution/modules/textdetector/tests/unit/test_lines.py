"""Line assembly: boxes of one visual line joined in reading order, parts kept."""

from __future__ import annotations

import numpy as np

from textdetector.recognizer.lines import assemble, group
from textdetector.results import Detections


def quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def boxes(*rects) -> np.ndarray:
    return np.array([quad(*r) for r in rects], np.float32)


def test_a_code_and_its_boxed_check_digit_are_one_line():
    """'148018 0' and 'EKQU' came back as separate boxes in arbitrary order."""
    found = boxes((230, 10, 400, 40), (100, 12, 210, 41), (410, 8, 440, 42))
    lines = assemble(found, ("148018", "EKQU", "0"), np.array([0.9, 0.8, 0.7]))
    assert [line.text for line in lines] == ["EKQU 148018 0"]
    assert lines[0].parts == (1, 0, 2)
    np.testing.assert_allclose(lines[0].box, quad(100, 8, 440, 42))


def test_lines_come_top_to_bottom_then_left_to_right():
    found = boxes((300, 100, 400, 130), (10, 100, 100, 130), (10, 10, 200, 40), (600, 12, 700, 42))
    assert group(found) == [[2], [3], [1], [0]]  # far gap: two lines side by side


def test_two_columns_of_a_page_stay_two_lines():
    """A two-column page: a line ending 30 px (one line height) before the next column's
    line on the same row was read as one line ("...defeated). first verse between...");
    words of one line 10 px apart still join."""
    found = boxes((0, 0, 400, 30), (430, 1, 800, 31), (810, 0, 900, 30))
    assert sorted(map(sorted, group(found))) == [[0], [1, 2]]


def test_different_heights_or_far_gaps_stay_apart():
    found = boxes((0, 0, 100, 20), (110, 0, 200, 60), (0, 100, 100, 120), (400, 100, 500, 120))
    assert sorted(map(sorted, group(found))) == [[0], [1], [2], [3]]


def test_unread_boxes_are_left_out_and_score_is_length_weighted():
    found = boxes((0, 0, 100, 20), (110, 0, 160, 20), (170, 0, 200, 20))
    lines = assemble(found, ("EXIT", "", "7"), np.array([1.0, 0.5, 0.5], np.float32))
    assert [(line.text, line.parts) for line in lines] == [("EXIT", (0,)), ("7", (2,))]
    close = boxes((0, 0, 100, 20), (110, 0, 130, 20))
    lines = assemble(close, ("EXIT", "7"), np.array([1.0, 0.5], np.float32))
    assert lines[0].text == "EXIT 7" and abs(lines[0].score - 0.9) < 1e-6


def test_detections_carry_their_lines_in_to_dict():
    det = Detections(
        boxes((0, 0, 50, 20), (60, 0, 120, 20)), np.ones(2, np.float32), (100, 200)
    ).with_texts(("Gate", "B"), np.array([0.9, 0.9]))
    assert det.to_dict()["lines"][0]["text"] == "Gate B"
    assert det.to_dict()["lines"][0]["parts"] == [0, 1]
    assert Detections.empty((10, 10)).lines() == []


def rotated(cx, cy, w, h, degrees):
    """A w x h box centred at (cx, cy), turned by `degrees` (tl, tr, br, bl)."""
    t = np.deg2rad(degrees)
    u, v = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
    c = np.array([cx, cy])
    return [
        c - u * w / 2 - v * h / 2,
        c + u * w / 2 - v * h / 2,
        c + u * w / 2 + v * h / 2,
        c - u * w / 2 + v * h / 2,
    ]


def test_tilted_lines_stacked_stay_apart_and_their_words_join():
    """A photographed page at 12 degrees: axis-aligned bounds of two stacked lines
    overlap, but in the boxes' own frame they are two lines, each of two words."""
    t = np.deg2rad(12)
    along, down = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
    quads = []
    for row in range(2):
        for word in range(2):
            c = np.array([200, 200]) + along * (word * 130) + down * (row * 30)
            quads.append(rotated(*c, 120, 20, 12))
    assert group(np.array(quads, np.float32)) == [[0, 1], [2, 3]]


def test_vertical_columns_are_not_one_line():
    """A page turned 90 degrees: side-by-side vertical lines stay separate lines."""
    quads = np.array([rotated(100 + 30 * k, 300, 400, 20, 90) for k in range(3)], np.float32)
    assert sorted(map(sorted, group(quads))) == [[0], [1], [2]]
