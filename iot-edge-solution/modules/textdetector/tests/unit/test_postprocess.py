"""DB post-process: synthetic maps, and parity with RapidOCR's DBPostProcess."""

from __future__ import annotations

import numpy as np
import pytest

from textdetector.detector.postprocess import DBParams, DBPostProcess, order_clockwise
from textdetector.detector.preprocess import input_size, to_blob
from textdetector.engines import run_single
from textdetector.geometry import polygon_iou


def synthetic_map(h=128, w=256, rects=((20, 30, 60, 200),)):
    prob = np.zeros((h, w), np.float32)
    for y0, x0, y1, x1 in rects:
        prob[y0:y1, x0:x1] = 0.9
    return prob


def test_box_lands_on_the_region_scaled_to_source():
    post = DBPostProcess()
    det = post(synthetic_map(rects=((50, 60, 70, 200),)), (256, 512))  # source: 2x the map
    assert len(det) == 1
    # contour spans x 60..199, y 50..69 (139 x 19): grown by d = 139*19*1.5/(2*158) = 12.5
    # on every side, then doubled to source pixels
    np.testing.assert_allclose(det.xyxy()[0], [95, 75, 423, 163], atol=4)
    assert det.scores[0] == pytest.approx(0.9, abs=1e-3)
    assert det.boxes.dtype == np.float32 and det.boxes.shape == (1, 4, 2)


def test_empty_map_gives_no_boxes():
    det = DBPostProcess()(np.zeros((64, 64), np.float32), (64, 64))
    assert len(det) == 0 and det.boxes.shape == (0, 4, 2)


def test_box_thresh_drops_weak_regions():
    prob = synthetic_map()
    prob[prob > 0] = 0.5
    assert len(DBPostProcess(DBParams(box_thresh=0.6))(prob, (128, 256))) == 0
    assert len(DBPostProcess(DBParams(box_thresh=0.4))(prob, (128, 256))) == 1


def test_tiny_regions_dropped():
    prob = synthetic_map(rects=((10, 10, 12, 40),))  # 2 px tall: below the minimum size
    assert len(DBPostProcess()(prob, (128, 256))) == 0


def test_max_candidates_caps_regions():
    rects = tuple((10 + 20 * i, 10, 20 + 20 * i, 100) for i in range(5))
    prob = synthetic_map(rects=rects)
    assert len(DBPostProcess()(prob, (128, 256))) == 5
    assert len(DBPostProcess(DBParams(max_candidates=2))(prob, (128, 256))) == 2


def test_order_clockwise():
    box = np.array([[10, 20], [0, 0], [10, 0], [0, 20]], np.float32)
    np.testing.assert_array_equal(order_clockwise(box), [[0, 0], [10, 0], [10, 20], [0, 20]])


def reference_boxes(prob: np.ndarray, image_size, params: DBParams):
    """RapidOCR's DBPostProcess + its filter step, configured as PaddleOCR's defaults."""
    rapid_utils = pytest.importorskip("rapidocr_onnxruntime.ch_ppocr_det.utils")
    rapid_det = pytest.importorskip("rapidocr_onnxruntime.ch_ppocr_det.text_detect")
    post = rapid_utils.DBPostProcess(
        thresh=params.thresh,
        box_thresh=params.box_thresh,
        max_candidates=params.max_candidates,
        unclip_ratio=params.unclip_ratio,
        score_mode="fast",
        use_dilation=False,
    )
    boxes, _ = post(prob[None, None], image_size)
    filt = rapid_det.TextDetector.filter_tag_det_res
    helper = type(
        "H",
        (),
        {
            "order_points_clockwise": rapid_det.TextDetector.order_points_clockwise,
            "clip_det_res": rapid_det.TextDetector.clip_det_res,
        },
    )()
    return filt(helper, boxes, image_size)


def probability_maps(detector, images):
    for image in images:
        size = input_size(*image.shape[:2], 960)
        yield image.shape[:2], run_single(detector.engine, to_blob(image, size))[0, 0]


@pytest.mark.slow
def test_parity_with_rapidocr_reference(detector, page_image, demo_frames):
    """Same probability maps and parameters: same count, every box IoU >= 0.99."""
    params = DBParams()
    images = [page_image, *demo_frames.values()]
    compared = 0
    for image_size, prob in probability_maps(detector, images):
        ours = DBPostProcess(params)(prob, image_size)
        ref = reference_boxes(prob, image_size, params)
        assert len(ours) == len(ref)
        ref_sorted = sorted(ref.tolist(), key=lambda b: (b[0][1], b[0][0]))
        ours_sorted = sorted(ours.boxes.tolist(), key=lambda b: (b[0][1], b[0][0]))
        for a, b in zip(ours_sorted, ref_sorted):
            assert polygon_iou(np.array(a), np.array(b)) >= 0.99
            compared += 1
    assert compared >= 20  # page.png and four demo frames


def test_dilation_joins_regions_split_by_a_one_pixel_gap():
    """DBParams.dilation (RapidOCR's use_dilation, on in the PP-OCRv6 policy): a 2x2
    dilation of the bitmap joins two cores a pixel apart into one box."""
    prob = np.zeros((64, 128), np.float32)
    prob[20:40, 10:60] = 0.9
    prob[20:40, 61:110] = 0.9
    apart = DBPostProcess(DBParams())(prob, (64, 128))
    joined = DBPostProcess(DBParams(dilation=True))(prob, (64, 128))
    assert (len(apart), len(joined)) == (2, 1)
