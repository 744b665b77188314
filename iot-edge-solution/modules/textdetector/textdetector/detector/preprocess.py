"""PaddleOCR det pre-processing: aspect-kept resize to multiples of 32, ImageNet normalisation."""
from __future__ import annotations

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
_ALPHA = [float(a) for a in 1.0 / (255.0 * STD)]  # x * alpha + gamma == (x/255 - mean) / std
_GAMMA = [float(g) for g in -MEAN / STD]


def input_size(height: int, width: int, limit_side_len: int) -> tuple[int, int]:
    """Model input (height, width) for an image: long side capped, never upscaled, /32."""
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


def to_blob(image: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """Resize a BGR image to `size` (h, w) and normalise it into a float32 1x3xHxW blob.

    Fused float32 path: one resize, then per channel one SIMD pass that scales, shifts,
    converts to float32 and writes straight into its CHW plane (no float64, no transpose
    copy). `out`, if given (shape 1x3xHxW, C-contiguous planes), receives the result.
    """
    height, width = size
    if image.shape[0] != height or image.shape[1] != width:
        image = cv2.resize(image, (width, height))
    if out is None:
        out = np.empty((1, 3, height, width), np.float32)
    for channel, plane in enumerate(cv2.split(image)):
        cv2.addWeighted(plane, _ALPHA[channel], plane, 0.0, _GAMMA[channel],
                        dst=out[0, channel], dtype=cv2.CV_32F)
    return out
