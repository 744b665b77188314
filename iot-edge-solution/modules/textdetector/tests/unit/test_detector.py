"""The detector on real images with the real model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from textdetector.config import DetectorSettings
from textdetector.detector import TextDetector
from textdetector.geometry import box_iou as iou

# Lines of skimage's page.png (384x191, a photographed page), labelled by eye:
# x0, y0, x1, y1 in source pixels.
PAGE_LINES = {
    "Region-based segmentation": (6, 14, 290, 33),
    "Let us first determine markers of the coins and the": (4, 50, 377, 66),
    "background. These markers are pixels that we can label": (3, 67, 377, 86),
    "histogram of grey values:": (4, 118, 171, 139),
}


def test_page_png_finds_its_text_lines(detector, page_image):
    det, timings = detector.detect(page_image)
    h, w = page_image.shape[:2]
    found = det.xyxy().tolist()
    for text, truth in PAGE_LINES.items():
        assert max(iou(truth, box) for box in found) >= 0.5, text
    assert len(det) <= 10  # the page holds 9 lines; no stray boxes
    assert np.all(det.boxes[..., 0] >= 0) and np.all(det.boxes[..., 0] <= w - 1)
    assert np.all(det.boxes[..., 1] >= 0) and np.all(det.boxes[..., 1] <= h - 1)
    assert np.all(det.scores >= 0.6)
    assert timings.inference_ms > 0 and timings.total_ms >= timings.inference_ms


def test_blank_image_has_no_text(detector):
    det, _ = detector.detect(np.full((480, 640, 3), 127, np.uint8))
    assert len(det) == 0


def test_grayscale_input_gives_same_boxes(detector, page_image):
    gray = cv2.cvtColor(page_image, cv2.COLOR_BGR2GRAY)
    det_gray, _ = detector.detect(gray)
    det_bgr, _ = detector.detect(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    np.testing.assert_array_equal(det_gray.boxes, det_bgr.boxes)


@pytest.mark.slow
def test_batch_equals_single(detector, demo_frames):
    images = list(demo_frames.values())[:2]
    batched = detector.detect_batch(images)
    for image, (det, _) in zip(images, batched):
        single, _ = detector.detect(image)
        assert len(single) == len(det)
        np.testing.assert_allclose(single.boxes, det.boxes, atol=1.0)


def test_boxes_are_in_source_pixels_at_any_scale(detector, page_image):
    """Doubling the image doubles the boxes (aspect kept, mapped back to the source)."""
    small, _ = detector.detect(page_image)
    big_image = cv2.resize(page_image, None, fx=2, fy=2)
    big, _ = TextDetector(detector.engine, DetectorSettings(limit_side_len=2048)).detect(big_image)
    assert abs(len(big) - len(small)) <= 2
    assert big.xyxy()[:, 2].max() > 1.8 * small.xyxy()[:, 2].max()


def test_results_serialise(detector, page_image):
    det, timings = detector.detect(page_image)
    data = det.to_dict()
    assert data["count"] == len(det) == len(data["boxes"]) == len(data["scores"])
    assert len(data["boxes"][0]) == 4 and len(data["boxes"][0][0]) == 2
    assert set(timings.to_dict()) == {
        "preprocess_ms",
        "inference_ms",
        "postprocess_ms",
        "recognition_ms",
        "total_ms",
    }


def test_prepared_input_gives_the_same_result(detector, demo_frames):
    image = demo_frames[60]
    prepared = detector.prepare(image)
    direct, _ = detector.detect(image)
    ahead, timings = detector.detect(image, prepared)
    np.testing.assert_array_equal(direct.boxes, ahead.boxes)
    assert timings.preprocess_ms == prepared.preprocess_ms


def test_stale_prepared_input_is_redone(detector, demo_frames):
    """A blob prepared before the input cap changed is not fed to the model."""
    image = demo_frames[60]
    other = TextDetector(detector.engine, DetectorSettings(limit_side_len=640))
    stale = detector.prepare(image)  # 544x960 blob; `other` wants 352x640
    det, _ = other.detect(image, stale)
    fresh, _ = other.detect(image)
    np.testing.assert_array_equal(det.boxes, fresh.boxes)
