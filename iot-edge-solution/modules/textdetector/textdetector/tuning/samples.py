"""Fixed frames for INT8 calibration and the precision parity gate.

Calibration and evaluation use disjoint frames of the demo video (rendered text over a
moving background), plus one rendered dense-text page each, so the gate never scores a
model on the frames it was calibrated on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ..sources.capture import read_frames

FRAME_SIZE = (720, 1280)  # (height, width) of rendered pages: the demo video's size
# Demo video: 180 frames, no text in [0, 15) and [90, 105).
CALIBRATION_FRAMES = tuple(range(16, 90, 8)) + tuple(range(106, 180, 8))
EVALUATION_FRAMES = tuple(range(17, 90, 8)) + tuple(range(107, 180, 8))  # odd: disjoint
WORDS = (
    "invoice",
    "total",
    "42.50",
    "EXIT",
    "Gate 7",
    "parcel",
    "No parking",
    "2026-10-31",
    "serial",
    "A-113",
    "warehouse",
    "lot",
    "batch 9",
    "fragile",
    "THIS SIDE UP",
)


def video_frames(video: Path, indices: Iterable[int]) -> list[np.ndarray]:
    """The frames at `indices` of a video ([] if it cannot be opened); missing ones skipped."""
    return read_frames(video, indices)


def rendered_page(seed: int, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """A deterministic frame of dense printed words in varied sizes, fonts and colours."""
    rng = np.random.default_rng(seed)
    height, width = size
    page = np.full((height, width, 3), rng.integers(170, 256, 3), np.uint8)
    fonts = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX)
    y = 40
    while y < height - 20:
        scale = float(rng.uniform(0.6, 1.6))
        x = int(rng.integers(10, 80))
        while x < width - 200:
            word = str(rng.choice(WORDS))
            font = fonts[int(rng.integers(len(fonts)))]
            color = tuple(int(c) for c in rng.integers(0, 90, 3))
            cv2.putText(page, word, (x, y), font, scale, color, 2, cv2.LINE_AA)
            x += cv2.getTextSize(word, font, scale, 2)[0][0] + int(rng.integers(20, 60))
        y += int(40 * scale) + int(rng.integers(10, 30))
    return page


def calibration_frames(video: Path) -> list[np.ndarray]:
    """Frames INT8 calibration sees: demo-video frames plus two rendered pages."""
    return video_frames(video, CALIBRATION_FRAMES) + [rendered_page(1), rendered_page(2)]


def evaluation_frames(video: Path, extra: Iterable[np.ndarray] = ()) -> list[np.ndarray]:
    """The fixed gate set: 20 demo-video frames with text, one rendered page, `extra`."""
    return video_frames(video, EVALUATION_FRAMES) + [rendered_page(100)] + list(extra)
