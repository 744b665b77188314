"""Detector pre-processing: aspect-kept resize to multiples of 32, then normalisation.

PaddleOCR's PP-OCRv4 semantics by default (long side capped, ImageNet mean and std); the
resize rule and the normalisation are parameters (`detector/policy.py` picks them).
"""

from __future__ import annotations

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
IMAGENET = (tuple(MEAN.tolist()), tuple(STD.tolist()))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # PP-OCRv6 det (as RapidOCR feeds it)


def affine(norm: tuple[tuple[float, ...], tuple[float, ...]]) -> tuple[list[float], list[float]]:
    """Per-channel (alpha, gamma) with x * alpha + gamma == (x / 255 - mean) / std."""
    mean, std = np.array(norm[0], np.float32), np.array(norm[1], np.float32)
    return [float(a) for a in 1.0 / (255.0 * std)], [float(g) for g in -mean / std]


_ALPHA, _GAMMA = affine(IMAGENET)
_AFFINE = {IMAGENET: (_ALPHA, _GAMMA), HALF: affine(HALF)}


def input_size(
    height: int, width: int, limit_side_len: int, limit_type: str = "max", max_side_len: int = 0
) -> tuple[int, int]:
    """Model input (height, width) for an image, each side a multiple of 32 (min 32).

    `limit_type="max"` (PaddleOCR): the long side capped at `limit_side_len`, never
    upscaled. `"min"` (RapidOCR): the short side raised to `limit_side_len`, never
    downscaled, then the long side capped at `max_side_len` (0 = no cap).
    """
    if limit_type == "min":
        shortest, longest = min(height, width), max(height, width)
        ratio = limit_side_len / shortest if shortest < limit_side_len else 1.0
        if max_side_len and longest * ratio > max_side_len:
            ratio = max_side_len / longest
    else:
        longest = max(height, width)
        ratio = limit_side_len / longest if longest > limit_side_len else 1.0
    resize_h = max(int(round(int(height * ratio) / 32) * 32), 32)
    resize_w = max(int(round(int(width * ratio) / 32) * 32), 32)
    return resize_h, resize_w


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Accept BGR, BGRA or grayscale uint8 images; return 3-channel BGR."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError("expected a uint8 image array of shape HxW or HxWxC")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 3:
        return image
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")


def to_blob(
    image: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None, norm: tuple = IMAGENET
) -> np.ndarray:
    """Resize a BGR image to `size` (h, w) and normalise it into a float32 1x3xHxW blob.

    Fused float32 path: one resize, then per channel one SIMD pass that scales, shifts,
    converts to float32 and writes straight into its CHW plane (no float64, no transpose
    copy). `out`, if given (shape 1x3xHxW, C-contiguous planes), receives the result.
    `norm` is the model's (mean, std) per channel: `IMAGENET` (PP-OCRv4) or `HALF`.
    """
    alpha, gamma = _AFFINE[norm] if norm in _AFFINE else affine(norm)
    height, width = size
    if image.shape[0] != height or image.shape[1] != width:
        image = cv2.resize(image, (width, height))
    if out is None:
        out = np.empty((1, 3, height, width), np.float32)
    for channel, plane in enumerate(cv2.split(image)):
        cv2.addWeighted(
            plane, alpha[channel], plane, 0.0, gamma[channel], dst=out[0, channel], dtype=cv2.CV_32F
        )
    return out
