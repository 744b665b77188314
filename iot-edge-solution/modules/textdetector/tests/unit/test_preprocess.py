"""Pre-processing: PaddleOCR resize rules and the fused float32 normalisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from textdetector.detector.preprocess import HALF, MEAN, STD, as_bgr, input_size, to_blob


@pytest.mark.parametrize(
    "h, w, limit, expected",
    [
        (720, 1280, 960, (544, 960)),  # 720p: long side capped at 960
        (1080, 1920, 960, (544, 960)),  # 1080p caps to the same input
        (480, 640, 960, (480, 640)),  # never upscaled
        (100, 50, 960, (96, 64)),  # rounded to multiples of 32
        (10, 10, 960, (32, 32)),  # at least 32
        (2000, 500, 960, (960, 256)),  # portrait: 240 rounds to 256
        (720, 1280, 640, (352, 640)),
    ],
)
def test_input_size(h, w, limit, expected):
    assert input_size(h, w, limit) == expected
    assert all(side % 32 == 0 for side in expected)


def test_to_blob_matches_reference_float64(page_image):
    size = input_size(*page_image.shape[:2], 960)
    blob = to_blob(page_image, size)
    resized = cv2.resize(page_image, (size[1], size[0])).astype(np.float64)
    reference = ((resized / 255.0 - MEAN) / STD).transpose(2, 0, 1)[None]
    assert blob.dtype == np.float32 and blob.shape == (1, 3, *size)
    assert np.abs(blob - reference).max() < 1e-4


def test_to_blob_writes_into_given_buffer():
    image = np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    out = np.zeros((2, 3, 64, 96), np.float32)
    to_blob(image, (64, 96), out=out[1:2])
    assert np.all(out[0] == 0)
    np.testing.assert_allclose(out[1:2], to_blob(image, (64, 96)), atol=1e-6)


def test_as_bgr_accepts_gray_and_bgra():
    gray = np.zeros((8, 8), np.uint8)
    bgra = np.zeros((8, 8, 4), np.uint8)
    assert as_bgr(gray).shape == (8, 8, 3)
    assert as_bgr(bgra).shape == (8, 8, 3)
    assert as_bgr(gray[:, :, None]).shape == (8, 8, 3)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((8, 8, 3), np.float32),
        np.zeros((8, 8, 2), np.uint8),
        np.zeros((2, 2, 2, 2), np.uint8),
        "image",
    ],
)
def test_as_bgr_rejects_other_arrays(bad):
    with pytest.raises(ValueError):
        as_bgr(bad)


@pytest.mark.parametrize(
    "h, w, side, cap, expected",
    [
        (191, 384, 736, 2016, (736, 1472)),  # a small page photo: short side raised to 736
        (720, 1280, 736, 2016, (736, 1312)),
        (2160, 3840, 736, 2016, (1120, 2016)),  # 4K: long side capped
        (1000, 4000, 736, 2016, (512, 2016)),
        (30, 2000, 736, 0, (736, 49056)),  # no cap: as RapidOCR before its own max_side_len
    ],
)
def test_input_size_min_rule(h, w, side, cap, expected):
    """DET_RESIZE=min (RapidOCR's rule): raise the short side, cap the long side."""
    assert input_size(h, w, side, "min", cap) == expected


def test_half_normalisation_maps_pixels_to_minus_one_one():
    """PP-OCRv6 det input: (x / 255 - 0.5) / 0.5 per channel."""
    image = np.array([[[0, 128, 255]]], np.uint8)
    blob = to_blob(image, (1, 1), norm=HALF)
    np.testing.assert_allclose(blob[0, :, 0, 0], [-1.0, 128 / 127.5 - 1, 1.0], atol=1e-6)
