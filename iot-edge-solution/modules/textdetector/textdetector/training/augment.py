"""Camera-like augmentation of line crops: perspective, blur, noise, JPEG, contrast.

Each transform is a few OpenCV/numpy calls drawn from a seeded numpy Generator, so a run
with the same seed sees the same images (a library such as albumentations would add its
own OpenCV and pydantic pins to the trainer for these five transforms)."""

from __future__ import annotations

import cv2
import numpy as np


def perspective(crop: np.ndarray, rng: np.random.Generator, amount: float = 0.08) -> np.ndarray:
    """Move each corner by up to `amount` of the line height (a camera not square on)."""
    h, w = crop.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src + rng.uniform(-amount, amount, (4, 2)).astype(np.float32) * h
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(crop, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def blur(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur (focus) or a short horizontal motion blur."""
    if rng.random() < 0.5:
        return cv2.GaussianBlur(crop, (0, 0), float(rng.uniform(0.3, 1.4)))
    size = int(rng.integers(2, 5))
    kernel = np.full((1, size), 1.0 / size, np.float32)
    return cv2.filter2D(crop, -1, kernel)


def noise(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian sensor noise."""
    noisy = crop.astype(np.float32) + rng.normal(0, float(rng.uniform(2, 10)), crop.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def jpeg(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A JPEG round trip at quality 30-90."""
    ok, data = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    return crop if decoded is None else np.asarray(decoded)


def contrast(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast 0.6-1.3 and brightness -30..30."""
    gain, bias = float(rng.uniform(0.6, 1.3)), float(rng.uniform(-30, 30))
    return np.clip(crop.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)


TRANSFORMS = (perspective, blur, noise, jpeg, contrast)


def augment(crop: np.ndarray, rng: np.random.Generator, chance: float = 0.5) -> np.ndarray:
    """Each transform applied with probability `chance`, in a fixed order."""
    for transform in TRANSFORMS:
        if rng.random() < chance:
            crop = transform(crop, rng)
    return crop
