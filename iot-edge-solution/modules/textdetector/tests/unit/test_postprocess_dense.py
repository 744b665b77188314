"""Fast DB post-process: same boxes as the reference loop and RapidOCR on dense text."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_postprocess import reference_boxes

from textdetector.detector.postprocess import DBParams, DBPostProcess
from textdetector.detector.preprocess import input_size, to_blob
from textdetector.engines import run_single
from textdetector.geometry import polygon_iou
from tools.dense_frame import render_dense_frame


@pytest.fixture(scope="module")
def dense_frame():
    pytest.importorskip("PIL")
    pytest.importorskip("matplotlib")
    return render_dense_frame()


def prob_map(detector, image):
    size = input_size(*image.shape[:2], 960)
    return run_single(detector.engine, to_blob(image, size))[0, 0]


def assert_same_boxes(ours, ref_boxes, min_iou=0.99):
    assert len(ours) == len(ref_boxes)

    def key(b):
        return (b[0][1], b[0][0])

    ours_sorted = sorted(ours.boxes.tolist(), key=key)
    ref_sorted = sorted(np.asarray(ref_boxes).tolist(), key=key)
    for a, b in zip(ours_sorted, ref_sorted):
        assert polygon_iou(np.array(a), np.array(b)) >= min_iou


def test_dense_frame_is_deterministic_and_dense():
    a, words = render_dense_frame(seed=3)
    b, _ = render_dense_frame(seed=3)
    assert a.shape == (720, 1280, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and len(words) >= 400
    assert not np.array_equal(a, render_dense_frame(seed=4)[0])


def test_fast_matches_reference_and_rapidocr_on_dense_frame(detector, dense_frame):
    """A real model map of a >= 400-word frame: fast == reference, both match RapidOCR."""
    image, words = dense_frame
    prob = prob_map(detector, image)
    fast = DBPostProcess(mode="fast")(prob, image.shape[:2])
    ref = DBPostProcess(mode="reference")(prob, image.shape[:2])
    assert len(fast) >= 400
    np.testing.assert_array_equal(fast.boxes, ref.boxes)
    np.testing.assert_allclose(fast.scores, ref.scores, atol=1e-5)
    assert_same_boxes(fast, reference_boxes(prob, image.shape[:2], DBParams()))


def test_fast_matches_reference_on_real_images(detector, page_image, demo_frames):
    for image in [page_image, *demo_frames.values()]:
        prob = prob_map(detector, image)
        for params in (DBParams(), DBParams(thresh=0.2, box_thresh=0.4, unclip_ratio=2.0)):
            fast = DBPostProcess(params, "fast")(prob, image.shape[:2])
            ref = DBPostProcess(params, "reference")(prob, image.shape[:2])
            np.testing.assert_array_equal(fast.boxes, ref.boxes)
            np.testing.assert_allclose(fast.scores, ref.scores, atol=1e-5)


def random_map(seed: int) -> np.ndarray:
    """Rotated, overlapping, nested and tiny blobs: the fast path's fallbacks all run."""
    rng = np.random.default_rng(seed)
    prob = np.zeros((160, 256), np.float32)
    for _ in range(40):
        center = (float(rng.uniform(0, 256)), float(rng.uniform(0, 160)))
        size = (float(rng.uniform(1, 60)), float(rng.uniform(1, 14)))
        pts = cv2.boxPoints((center, size, float(rng.uniform(-90, 90))))
        cv2.fillPoly(prob, [pts.astype(np.int32)], float(rng.uniform(0.3, 1.0)))
    for _ in range(6):  # holes: nested contours whose boxes overlap their parent's
        x, y = int(rng.integers(0, 250)), int(rng.integers(0, 155))
        prob[y : y + 4, x : x + 5] = 0.0
    prob += rng.uniform(0, 0.05, prob.shape).astype(np.float32)
    return prob


@pytest.mark.parametrize("seed", range(12))
def test_fast_matches_reference_on_random_maps(seed):
    prob = random_map(seed)
    for size in ((160, 256), (333, 517)):
        fast = DBPostProcess(DBParams(box_thresh=0.3), "fast")(prob, size)
        ref = DBPostProcess(DBParams(box_thresh=0.3), "reference")(prob, size)
        np.testing.assert_array_equal(fast.boxes, ref.boxes)
        np.testing.assert_allclose(fast.scores, ref.scores, atol=1e-5)


def test_unknown_mode_rejected():
    with pytest.raises(ValueError, match="mode"):
        DBPostProcess(mode="quick")


def test_box_points_bit_exact_with_opencv():
    from textdetector.detector import fastdb

    rng = np.random.default_rng(7)
    rects = [
        (
            (float(rng.uniform(0, 900)), float(rng.uniform(0, 500))),
            (float(rng.uniform(1, 300)), float(rng.uniform(1, 40))),
            float(rng.uniform(-90, 90)),
        )
        for _ in range(2000)
    ]
    rects += [((10.5, 20.5), (7.0, 3.0), a) for a in (-90.0, 0.0, 90.0, 45.0)]
    ours = fastdb.box_points(fastdb.rect_array(rects))
    assert np.array_equal(ours, np.stack([cv2.boxPoints(r) for r in rects]))


def test_offset_points_regular_and_fallback():
    """A regular quad gives pyclipper's own minAreaRect; a collapsed corner is flagged."""
    import pyclipper

    from textdetector.detector import fastdb

    boxes = np.array(
        [
            [[3.7, 4.2], [40.9, 6.1], [40.1, 17.8], [2.9, 15.9]],
            [[0.2, 0.3], [0.9, 0.1], [5.0, 5.0], [0.0, 5.0]],
        ],
        np.float32,
    )
    delta = fastdb.unclip_distance(boxes, 1.5)
    points, regular = fastdb.offset_points(boxes, delta)
    assert regular.tolist() == [True, False]
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(boxes[0], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    expected = np.array(offset.Execute(float(delta[0]))[0]).reshape(-1, 1, 2)
    assert cv2.minAreaRect(points[0]) == cv2.minAreaRect(expected)


def test_touching_matches_brute_force():
    from textdetector.detector import fastdb

    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 300):
        x0, y0 = rng.integers(0, 900, n), rng.integers(0, 500, n)
        x1, y1 = x0 + rng.integers(0, 120, n), y0 + rng.integers(0, 20, n)
        hit = (
            (x0[None] <= x1[:, None])
            & (x1[None] >= x0[:, None])
            & (y0[None] <= y1[:, None])
            & (y1[None] >= y0[:, None])
        )
        np.fill_diagonal(hit, False)
        assert fastdb._touching(x0, x1, y0, y1).tolist() == hit.any(axis=1).tolist()


def test_corner_orders_match_the_reference_with_ties():
    """Integer corners on a tiny grid: many equal x and y, where the stable sorts decide."""
    from textdetector.detector import fastdb
    from textdetector.detector.postprocess import order_clockwise, order_mini

    boxes = np.random.default_rng(5).integers(0, 3, (3000, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(
        fastdb.order_mini(boxes), np.stack([order_mini(b) for b in boxes])
    )
    np.testing.assert_array_equal(
        fastdb.order_clockwise(boxes), np.stack([order_clockwise(b) for b in boxes])
    )


def test_scores_equal_per_box_masks_at_borders_and_overlaps():
    """One shared mask + gathered sums == the reference's own crop and mask for each box,
    for boxes cut by the frame edges and for overlapping boxes (scored one by one)."""
    from textdetector.detector import fastdb
    from textdetector.detector.postprocess import box_score_fast

    rng = np.random.default_rng(11)
    prob = rng.uniform(0, 1, (120, 200)).astype(np.float32)
    rects = [
        (
            (float(rng.uniform(-10, 210)), float(rng.uniform(-10, 130))),
            (float(rng.uniform(3, 40)), float(rng.uniform(3, 12))),
            float(rng.uniform(-90, 90)),
        )
        for _ in range(60)
    ]
    rects += [((100.3, 60.7), (30.0, 8.0), 10.0), ((104.1, 62.2), (30.0, 8.0), 80.0)]
    boxes = fastdb.order_mini(fastdb.box_points(fastdb.rect_array(rects)))
    x0, y0 = np.floor(fastdb.corner_min(boxes)).T.astype(int)
    x1, y1 = np.floor(fastdb.corner_max(boxes)).T.astype(int)
    assert fastdb._touching(x0, x1, y0, y1).any() and not fastdb._touching(x0, x1, y0, y1).all()
    assert (x0 < 0).any() and (x1 >= 200).any() and (y0 < 0).any() and (y1 >= 120).any()
    expected = [box_score_fast(prob, box) for box in boxes]
    np.testing.assert_allclose(
        fastdb.scores_fast(prob, boxes, box_score_fast), expected, rtol=0, atol=1e-9
    )


def test_fast_mode_from_several_threads_matches_one_thread():
    """Reused per-thread buffers: concurrent calls on different maps give each its own boxes."""
    from concurrent.futures import ThreadPoolExecutor

    post = DBPostProcess(DBParams(box_thresh=0.3))
    maps = [random_map(seed) for seed in range(8)]
    alone = [post(prob, (320, 512)) for prob in maps]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda prob: post(prob, (320, 512)), maps * 8))
    for i, det in enumerate(together):
        np.testing.assert_array_equal(det.boxes, alone[i % len(maps)].boxes)
        np.testing.assert_array_equal(det.scores, alone[i % len(maps)].scores)
