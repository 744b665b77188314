"""DB post-process with PaddleOCR's reference semantics (fast score, round unclip).

Two modes give the same boxes: "fast" (default; vectorised, see fastdb.py) and
"reference" (PaddleOCR's per-contour loop, kept for parity tests and benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from ..results import Detections
from . import fastdb

MIN_SIZE = 3
DILATION_KERNEL = np.ones((2, 2), np.uint8)


@dataclass(frozen=True)
class DBParams:
    """DB thresholds; PaddleOCR `predict_det` defaults."""

    thresh: float = 0.3
    box_thresh: float = 0.6
    unclip_ratio: float = 1.5
    max_candidates: int = 1000
    dilation: bool = False  # grow the bitmap by a 2x2 kernel first (RapidOCR's default)


def mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimum-area rectangle of a contour, ordered tl, tr, br, bl, and its short side."""
    rect = cv2.minAreaRect(contour)
    return order_mini(cv2.boxPoints(rect)), min(rect[1])


def order_mini(corners: np.ndarray) -> np.ndarray:
    """PaddleOCR's `get_mini_boxes` order: sort by x, then each side's pair by y."""
    points = sorted(list(corners), key=lambda p: p[0])
    left = (0, 1) if points[1][1] > points[0][1] else (1, 0)
    right = (2, 3) if points[3][1] > points[2][1] else (3, 2)
    return np.array([points[left[0]], points[right[0]], points[right[1]], points[left[1]]])


def box_score_fast(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the box polygon (PaddleOCR `score_mode="fast"`)."""
    h, w = prob.shape[:2]
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = (box - np.array([xmin, ymin], box.dtype)).reshape(1, -1, 2).astype(np.int32)
    cv2.fillPoly(mask, shifted, 1)
    return cv2.mean(prob[ymin : ymax + 1, xmin : xmax + 1], mask)[0]


def unclip(box: np.ndarray, ratio: float) -> np.ndarray:
    """Grow a box by area * ratio / perimeter with round joins (pyclipper, as PaddleOCR)."""
    contour = box.astype(np.float32).reshape(-1, 1, 2)
    distance = cv2.contourArea(contour) * ratio / cv2.arcLength(contour, True)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    expanded = offset.Execute(distance)
    if not expanded:
        return np.zeros((0, 1, 2), np.int64)
    return np.array(expanded[0]).reshape(-1, 1, 2)


def order_clockwise(box: np.ndarray) -> np.ndarray:
    """Order four points tl, tr, br, bl by x then y (as PaddleOCR's filter step)."""
    by_x = box[np.argsort(box[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], np.float32)


class DBPostProcess:
    """Turns a probability map into boxes in source-image pixels."""

    MODES = ("fast", "reference")

    def __init__(self, params: DBParams = DBParams(), mode: str = "fast") -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {', '.join(self.MODES)}")
        self.params = params
        self.mode = mode

    def __call__(self, prob: np.ndarray, image_size: tuple[int, int]) -> Detections:
        """`prob` is the (H, W) map of one image; `image_size` the source (height, width)."""
        above = fastdb.scratch("bitmap", prob.size, np.dtype(bool)).reshape(prob.shape)
        bitmap = np.greater(prob, self.params.thresh, out=above).view(np.uint8)  # 0/1
        if self.params.dilation:
            bitmap = cv2.dilate(bitmap, DILATION_KERNEL)
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        contours = contours[: self.params.max_candidates]
        if self.mode == "fast":
            return self._fast(prob, contours, image_size)
        boxes, scores = [], []
        for contour in contours:
            found = self._box_of(prob, contour, image_size)
            if found is not None:
                boxes.append(found[0])
                scores.append(found[1])
        if not boxes:
            return Detections.empty(image_size)
        return Detections(np.stack(boxes), np.array(scores, np.float32), image_size)

    def _fast(self, prob: np.ndarray, contours: tuple, image_size: tuple[int, int]) -> Detections:
        """The reference steps on arrays of boxes (fastdb); same boxes, same order."""
        if not contours:
            return Detections.empty(image_size)
        rects = fastdb.rect_array(list(map(cv2.minAreaRect, contours)))
        rects = rects[np.minimum(rects[:, 2], rects[:, 3]) >= MIN_SIZE]
        boxes = fastdb.order_mini(fastdb.box_points(rects))
        scores = fastdb.scores_fast(prob, boxes, box_score_fast)
        keep = scores >= self.params.box_thresh
        boxes, scores = boxes[keep], scores[keep]
        if not len(boxes):
            return Detections.empty(image_size)
        delta = fastdb.unclip_distance(boxes, self.params.unclip_ratio)
        points, regular = fastdb.offset_points(boxes, delta)
        grown = list(map(cv2.minAreaRect, points))
        for i in np.flatnonzero(~regular).tolist():  # Clipper's own offset for odd corners
            expanded = unclip(boxes[i], self.params.unclip_ratio)
            grown[i] = cv2.minAreaRect(expanded) if len(expanded) else ((0, 0), (0, 0), 0)
        rects = fastdb.rect_array(grown)
        keep = np.minimum(rects[:, 2], rects[:, 3]) >= MIN_SIZE + 2
        out = scale_boxes(fastdb.order_mini(fastdb.box_points(rects[keep])), prob.shape, image_size)
        scores = scores[keep]
        side = out[:, 0] - out[:, 1], out[:, 0] - out[:, 3]
        width = np.sqrt((side[0] ** 2).sum(axis=1)).astype(np.int64)
        height = np.sqrt((side[1] ** 2).sum(axis=1)).astype(np.int64)
        large = (width > 3) & (height > 3)
        if not large.any():
            return Detections.empty(image_size)
        return Detections(out[large], scores[large].astype(np.float32), image_size)

    def _box_of(
        self, prob: np.ndarray, contour: np.ndarray, image_size: tuple[int, int]
    ) -> tuple[np.ndarray, float] | None:
        points, short_side = mini_box(contour)
        if short_side < MIN_SIZE:
            return None
        score = box_score_fast(prob, points)
        if score < self.params.box_thresh:
            return None
        expanded = unclip(points, self.params.unclip_ratio)
        if len(expanded) == 0:
            return None
        box, short_side = mini_box(expanded)
        if short_side < MIN_SIZE + 2:
            return None
        box = scale_box(box, prob.shape, image_size)
        if not _large_enough(box):
            return None
        return box, score


def scale_box(
    box: np.ndarray, map_size: tuple[int, int], image_size: tuple[int, int]
) -> np.ndarray:
    """Map a box from probability-map pixels to source pixels, rounded and clipped."""
    height, width = map_size
    dest_h, dest_w = image_size
    out = np.empty((4, 2), np.float32)
    out[:, 0] = np.clip(np.round(box[:, 0] / width * dest_w), 0, dest_w)
    out[:, 1] = np.clip(np.round(box[:, 1] / height * dest_h), 0, dest_h)
    out = order_clockwise(out)
    out[:, 0] = np.clip(out[:, 0], 0, dest_w - 1)
    out[:, 1] = np.clip(out[:, 1], 0, dest_h - 1)
    return out


def scale_boxes(
    boxes: np.ndarray, map_size: tuple[int, int], image_size: tuple[int, int]
) -> np.ndarray:
    """`scale_box` for (N, 4, 2) boxes at once (the same float32 operations, x and y together)."""
    size = np.array(map_size[::-1], np.float32)  # width, height
    dest = np.array(image_size[::-1], np.float32)
    out = np.minimum(np.maximum(np.round(boxes.astype(np.float32) / size * dest), 0), dest)
    return np.minimum(fastdb.order_clockwise(out), dest - 1)


def _large_enough(box: np.ndarray) -> bool:
    width = int(np.linalg.norm(box[0] - box[1]))
    height = int(np.linalg.norm(box[0] - box[3]))
    return width > 3 and height > 3
