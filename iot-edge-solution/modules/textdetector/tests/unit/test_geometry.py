"""Box geometry: the one home of IoU, matching and areas (textdetector/geometry.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from textdetector import geometry
from textdetector.results import Detections


def quad(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_box_and_polygon_iou_agree_on_axis_aligned_boxes():
    a, b = (0, 0, 10, 10), (5, 0, 15, 10)
    assert geometry.box_iou(a, b) == pytest.approx(50 / 150)
    assert geometry.polygon_iou(quad(*a), quad(*b)) == pytest.approx(50 / 150)
    assert geometry.box_iou(a, (20, 20, 30, 30)) == 0.0
    assert geometry.box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0  # empty union


def test_polygon_iou_of_a_rotated_box():
    square = quad(0, 0, 10, 10)
    diamond = np.array([[5, -5], [15, 5], [5, 15], [-5, 5]], np.float32)  # same centre, 45°
    assert geometry.polygon_area(diamond) == pytest.approx(200.0)
    # the square's corners touch the diamond's edges: the square lies inside it
    assert geometry.polygon_iou(square, diamond) == pytest.approx(100 / 200)
    assert geometry.polygon_iou(square, diamond + 10) == pytest.approx(0.0, abs=1e-6)


@given(st.lists(st.tuples(*[st.integers(0, 50)] * 4), min_size=1, max_size=6))
def test_iou_matrix_is_symmetric_and_bounded(raw):
    boxes = np.array(
        [(min(a, c), min(b, d), max(a, c) + 1, max(b, d) + 1) for a, b, c, d in raw], np.float64
    )
    m = geometry.iou_matrix(boxes, boxes)
    assert np.allclose(m, m.T) and np.all((m >= 0) & (m <= 1 + 1e-9))
    assert np.allclose(np.diag(m), 1.0)


def test_matching_counts_missing_and_extra_boxes():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    assert geometry.mean_box_iou([(a, a)]) == 1.0
    assert geometry.mean_box_iou([(a, a[:1])]) == 0.5
    assert geometry.mean_box_iou([(np.zeros((0, 4)), np.zeros((0, 4)))]) == 1.0
    assert geometry.recall_precision(a, a[:1]) == (1, 2, 1)
    assert geometry.recall_precision(a, np.array([[0, 0, 10, 4]])) == (0, 2, 1)  # IoU 0.4


def test_changed_detects_count_and_position():
    a = np.array([[0, 0, 10, 10]], np.float32)
    assert geometry.changed(None, a, 0.5)
    assert not geometry.changed(a, a + 1, 0.5)
    assert geometry.changed(a, a + 8, 0.5)
    assert geometry.changed(a, np.zeros((0, 4)), 0.5)
    assert not geometry.changed(np.zeros((0, 4)), np.zeros((0, 4)), 0.5)


def test_detections_use_the_same_geometry():
    boxes = np.stack([quad(0, 0, 10, 10), quad(5, 0, 15, 10)])
    det = Detections(boxes, np.ones(2, np.float32), (20, 20))
    np.testing.assert_array_equal(det.xyxy(), [[0, 0, 10, 10], [5, 0, 15, 10]])
    assert det.iou(det)[0, 1] == pytest.approx(50 / 150)
    assert det.mean_iou(det) == (2.0, 2)
    assert Detections.empty((5, 5)).xyxy().shape == (0, 4)
