"""Crop geometry: perspective warp of quadrilaterals, tall-crop rotation, degenerate boxes."""

from __future__ import annotations

import numpy as np
import pytest
from recognition_support import rapid_crops

from textdetector.recognizer.crop import crop_all, crop_quad, crop_size


@pytest.fixture
def gradient() -> np.ndarray:
    """A 100x200 BGR image whose pixels encode their own position."""
    ys, xs = np.mgrid[0:100, 0:200]
    return np.dstack([xs % 256, ys, np.full_like(xs, 128)]).astype(np.uint8)


def quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_axis_aligned_box_is_the_slice(gradient):
    crop = crop_quad(gradient, quad(20, 10, 120, 40))
    assert crop.shape == (30, 100, 3)
    np.testing.assert_array_equal(crop, gradient[10:40, 20:120])


def test_size_is_the_longer_opposite_side_truncated():
    assert crop_size(np.array([[0, 0], [10.9, 0], [12.5, 5.2], [0, 5]], np.float32)) == (12, 5)


def test_rotated_quad_is_straightened():
    """A line drawn along a 30-degree slope comes out horizontal."""
    import cv2

    image = np.zeros((200, 200, 3), np.uint8)
    centre, size, angle = (100.0, 100.0), (120.0, 20.0), 30.0
    corners = cv2.boxPoints((centre, size, angle))  # bl, tl, tr, br for this angle
    cv2.fillPoly(image, [corners.astype(np.int32)], (255, 255, 255))
    ordered = np.array([corners[1], corners[2], corners[3], corners[0]], np.float32)
    crop = crop_quad(image, ordered)
    assert crop.shape[0] in (19, 20) and crop.shape[1] in (119, 120)  # sides truncated
    assert crop[2:-2, 2:-2].mean() > 240  # all ink: the band lies along the crop


def test_tall_crop_turns_counter_clockwise(gradient):
    crop = crop_quad(gradient, quad(50, 0, 70, 30))  # 20 wide, 30 tall: ratio 1.5
    assert crop.shape == (20, 30, 3)
    np.testing.assert_array_equal(crop, np.rot90(gradient[0:30, 50:70]))
    assert crop.flags["C_CONTIGUOUS"]


def test_just_below_the_tall_ratio_stays(gradient):
    assert crop_quad(gradient, quad(50, 0, 71, 31)).shape == (31, 21, 3)


def test_box_past_the_frame_edge_replicates_the_border(gradient):
    crop = crop_quad(gradient, quad(180, 80, 230, 120))
    assert crop.shape == (40, 50, 3)
    np.testing.assert_array_equal(crop[:20, :20], gradient[80:100, 180:200])
    np.testing.assert_array_equal(crop[30, 40], gradient[99, 199])


@pytest.mark.parametrize("box", [quad(5, 5, 5, 5), quad(5, 5, 5.5, 40), quad(0, 0, 80, 0.4)])
def test_empty_boxes_give_no_crop(gradient, box):
    assert crop_quad(gradient, box) is None


def test_one_pixel_box_gives_one_pixel(gradient):
    crop = crop_quad(gradient, quad(7, 9, 8, 10))
    assert crop.shape == (1, 1, 3)
    np.testing.assert_array_equal(crop[0, 0], gradient[9, 7])


def test_non_finite_box_gives_no_crop(gradient):
    assert crop_quad(gradient, quad(0, 0, np.nan, 10)) is None


def test_same_pixels_as_rapidocr(gradient, page_image):
    """Bit-exact against RapidOCR's get_rotate_crop_image on skewed and tall boxes."""
    boxes = np.array(
        [
            quad(20, 10, 120, 40),
            quad(50, 0, 70, 60),
            [[13.2, 20.7], [150.4, 8.1], [160.9, 50.3], [10.5, 66.6]],
        ],
        np.float32,
    )
    for image in (gradient, page_image):
        mine = crop_all(image, boxes)
        for a, b in zip(mine, rapid_crops(image, boxes)):
            np.testing.assert_array_equal(a, b)


def test_tall_regions_get_the_other_turn_and_stacked_letters():
    """A tall crop (turned counter-clockwise by crop_quad) also comes turned the other way
    and as its letters laid side by side, in reading order top to bottom."""
    from textdetector.recognizer.crop import is_tall, tall_variants

    upright = np.zeros((90, 30, 3), np.uint8)  # three stacked 30x30 cells: 0, 100, 200
    for k in range(3):
        upright[30 * k : 30 * (k + 1)] = 100 * k
    turned = np.ascontiguousarray(np.rot90(upright))  # as crop_quad returns it
    other, stacked = tall_variants(turned)
    np.testing.assert_array_equal(other, np.rot90(turned, 2))
    assert stacked.shape == (30, 90, 3)
    assert [int(stacked[15, 15 + 30 * k, 0]) for k in range(3)] == [0, 100, 200]
    assert is_tall(np.array([[0, 0], [30, 0], [30, 90], [0, 90]], np.float32))
    assert not is_tall(np.array([[0, 0], [90, 0], [90, 30], [0, 30]], np.float32))
