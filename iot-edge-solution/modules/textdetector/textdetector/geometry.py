"""Box geometry, in one place: IoU of boxes and quadrilaterals, matching, areas.

Axis-aligned boxes are `(x0, y0, x1, y1)` rows; quadrilaterals are (4, 2) point arrays
(the `Detections.boxes` layout). Convex polygon work uses OpenCV (already a runtime
dependency) rather than hand-written clipping.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def xyxy(quads: np.ndarray) -> np.ndarray:
    """Axis-aligned bounds of (N, 4, 2) quadrilaterals, shape (N, 4)."""
    quads = np.asarray(quads, np.float32)
    if len(quads) == 0:
        return np.zeros((0, 4), np.float32)
    return np.concatenate([quads.min(axis=1), quads.max(axis=1)], axis=1)


def union_quad(quads: np.ndarray) -> np.ndarray:
    """The axis-aligned (4, 2) quadrilateral (tl, tr, br, bl) bounding all `quads`."""
    points = np.asarray(quads, np.float32).reshape(-1, 2)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection areas of every pair of xyxy boxes, and each side's areas."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter, area_a, area_b


def _as_boxes(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(-1, 4)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every pair of xyxy boxes: shape (len(a), len(b)); 0 where the union is empty."""
    a, b = _as_boxes(a), _as_boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    inter, area_a, area_b = _overlaps(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def cover_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box's area, every pair of xyxy boxes: how much of
    one box the other covers (1.0 when either holds the other)."""
    a, b = _as_boxes(a), _as_boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    inter, area_a, area_b = _overlaps(a, b)
    return inter / np.maximum(np.minimum(area_a[:, None], area_b[None, :]), 1e-6)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two xyxy boxes."""
    return float(iou_matrix(np.asarray([a]), np.asarray([b]))[0, 0])


def polygon_area(quad: np.ndarray) -> float:
    """Area of a simple polygon given as (K, 2) points."""
    return float(abs(cv2.contourArea(np.asarray(quad, np.float32))))


def polygon_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two convex polygons (e.g. rotated text boxes), (K, 2) points each."""
    pa, pb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    inter, _ = cv2.intersectConvexConvex(pa, pb)
    union = polygon_area(pa) + polygon_area(pb) - inter
    return float(inter / union) if union > 0 else 0.0


def greedy_matches(matrix: np.ndarray, min_iou: float = 0.0) -> list[tuple[int, int, float]]:
    """Pairs (i, j, iou), best IoU first, each row and column used once, IoU > min_iou."""
    matrix = np.array(matrix, np.float64, copy=True)
    pairs = []
    while matrix.size and matrix.max() > min_iou:
        i, j = np.unravel_index(int(matrix.argmax()), matrix.shape)
        pairs.append((int(i), int(j), float(matrix[i, j])))
        matrix[i, :] = 0
        matrix[:, j] = 0
    return pairs


def matched_iou(reference: np.ndarray, other: np.ndarray) -> tuple[float, int]:
    """(sum of IoUs of greedily matched xyxy pairs, number of boxes counted).

    A box left unmatched on either side counts as IoU 0, so missing and extra boxes
    both lower the mean.
    """
    matrix = iou_matrix(reference, other)
    return sum(iou for _, _, iou in greedy_matches(matrix)), max(matrix.shape)


def mean_box_iou(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean matched IoU over (reference xyxy, other xyxy) pairs; 1.0 when both are empty."""
    total, count = 0.0, 0
    for reference, other in pairs:
        part, n = matched_iou(reference, other)
        total, count = total + part, count + n
    return total / count if count else 1.0


def recall_precision(
    truth: np.ndarray, found: np.ndarray, min_iou: float = 0.5
) -> tuple[int, int, int]:
    """(matched, len(truth), len(found)) with one-to-one matches at IoU >= min_iou."""
    matrix = iou_matrix(truth, found)
    matched = sum(1 for _, _, iou in greedy_matches(matrix) if iou >= min_iou)
    return matched, len(truth), len(found)


def changed(previous: np.ndarray | None, current: np.ndarray, min_iou: float) -> bool:
    """True when xyxy box sets differ materially: count, or a box without a match."""
    if previous is None or len(previous) != len(current):
        return True
    if len(current) == 0:
        return False
    overlap = iou_matrix(current, previous)
    return bool((overlap.max(axis=1) < min_iou).any() or (overlap.max(axis=0) < min_iou).any())


def turned(points: np.ndarray, turn: str, size: tuple[int, int]) -> np.ndarray:
    """(N, 4, 2) boxes of a still (`size` its height, width) in that still turned `turn`
    ("ccw" or "cw" a quarter, "half" half a turn, as cv2.rotate turns it), points again
    top-left, top-right, bottom-right, bottom-left as the turned still shows them."""
    height, width = size
    x, y = points[..., 0], points[..., 1]
    if turn == "half":  # (x, y) goes to (width - 1 - x, height - 1 - y)
        return _half_turn(points, size)
    if turn == "ccw":  # (x, y) goes to (y, width - 1 - x)
        return np.roll(np.stack([y, width - 1 - x], axis=-1), -1, axis=1).astype(np.float32)
    return np.roll(np.stack([height - 1 - y, x], axis=-1), 1, axis=1).astype(np.float32)


def turned_back(points: np.ndarray, turn: str, size: tuple[int, int]) -> np.ndarray:
    """(N, 4, 2) boxes found in a still turned `turn`, in the unturned still's pixels
    (`size` its height, width), points again top-left, top-right, bottom-right, bottom-left
    as the unturned still shows them: the inverse of `turned`."""
    height, width = size
    x, y = points[..., 0], points[..., 1]
    if turn == "half":  # its own inverse
        return _half_turn(points, size)
    if turn == "ccw":  # (x, y) was turned to (y, width - 1 - x)
        return np.roll(np.stack([width - 1 - y, x], axis=-1), 1, axis=1).astype(np.float32)
    return np.roll(np.stack([y, height - 1 - x], axis=-1), -1, axis=1).astype(np.float32)


def _half_turn(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, 4, 2) boxes turned half a turn in a still of `size` (height, width): the
    bottom-right point becomes the top-left one."""
    height, width = size
    flipped = np.stack([width - 1 - points[..., 0], height - 1 - points[..., 1]], axis=-1)
    return np.roll(flipped, 2, axis=1).astype(np.float32)
