"""Detections drawn on frames: boxes, each box's text and score on a readable
background, and the mark of a reused frame.

One drawing for every picture the module makes: the archive's annotated frames, the
live preview, `--save-video` and `detect --annotate`. Boxes are drawn by OpenCV, labels
by Pillow (CJK-safe, `font.py`) into small cached patches copied into the frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..results import Detections
from .labels import REUSED, parts
from .patches import label_patch, paste, text_patch

__all__ = ["annotate", "font_size", "line_width"]


def font_size(shape: tuple[int, ...]) -> int:
    """Label height in pixels for a frame of this shape (18 px at 720p, at least 12)."""
    return max(12, round(min(shape[:2]) / 40))


def line_width(shape: tuple[int, ...]) -> int:
    """Box line width in pixels for a frame of this shape."""
    return max(1, round(max(shape[:2]) / 500))


def annotate(
    image: np.ndarray, detections: Detections, *, reused: bool = False, show_scores: bool = True
) -> np.ndarray:
    """A copy of the BGR frame with each box, its text (the constrained text where a
    pattern matched, else the raw text) and score drawn on a readable background; a
    reused frame is marked in a corner. Never modifies `image`."""
    canvas = np.ascontiguousarray(image).copy()
    if canvas.ndim == 2:
        canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
    elif canvas.shape[2] == 4:
        canvas = cv2.cvtColor(canvas, cv2.COLOR_BGRA2BGR)
    size, thickness = font_size(canvas.shape), line_width(canvas.shape)
    labels = [parts(detections, i, show_scores) for i in range(len(detections))]
    for quad, (_, _, colour) in zip(detections.boxes, labels):
        points = np.rint(quad).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], True, colour, thickness, cv2.LINE_AA)
    for quad, (text, score, colour) in zip(detections.boxes, labels):
        if text or score:
            _draw_label(canvas, quad, label_patch(text, score, size, colour))
    if reused:
        mark = text_patch("reused", size, REUSED)
        paste(canvas, mark, canvas.shape[1] - mark.shape[1] - 4, 4)
    return canvas


def _draw_label(canvas: np.ndarray, quad: np.ndarray, patch: np.ndarray) -> None:
    """The label above the box's top-left corner, or inside the box's top when the
    frame's edge leaves no room above; kept inside the frame horizontally."""
    left, top = int(np.floor(quad[:, 0].min())), int(np.floor(quad[:, 1].min()))
    y = top - patch.shape[0] if top >= patch.shape[0] else max(0, top)
    x = max(0, min(left, canvas.shape[1] - patch.shape[1]))
    paste(canvas, patch, x, y)
