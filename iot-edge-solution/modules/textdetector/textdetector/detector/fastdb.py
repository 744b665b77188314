"""Vectorised DB post-process giving the reference loop's boxes (see postprocess.py).

The reference visits each contour in Python: minAreaRect, a fillPoly mask per box for
the score, a pyclipper round-join offset, minAreaRect again. Here only the OpenCV calls
that must see one contour (minAreaRect, fillPoly) stay per box; the rest runs on arrays:

- box corners (OpenCV's float32 `RotatedRect::points` arithmetic) and sorting;
- scores: every box whose pixel bounds touch no other box is drawn with its own label
  into one label image and scored with two `bincount`s; boxes that may share pixels are
  scored one by one exactly as the reference does;
- unclip: Clipper's round-join offset (ClipperOffset::DoOffset/DoRound, integer input
  and rounding included) evaluated for all boxes at once; a box outside the regular case
  (a collapsed or concave corner) goes through pyclipper itself.
"""
from __future__ import annotations

import math
from itertools import repeat
from typing import Callable

import cv2
import numpy as np

ARC_TOLERANCE = 0.25  # pyclipper's PyclipperOffset default


def rect_array(rects: list) -> np.ndarray:
    """minAreaRect tuples -> float32 (N, 5): cx, cy, w, h, angle."""
    flat = [(c[0], c[1], s[0], s[1], a) for c, s, a in rects]
    return np.array(flat, np.float32).reshape(-1, 5)


def box_points(rects: np.ndarray) -> np.ndarray:
    """cv2.boxPoints of (N, 5) float32 rects at once, bit for bit: (N, 4, 2) float32.

    The corners' float rounding decides which pixels a score mask covers, so this
    follows OpenCV's `RotatedRect::points` arithmetic (float32, each corner computed
    from the centre); tests compare it with cv2.boxPoints.
    """
    cx, cy, w, h = rects[:, 0], rects[:, 1], rects[:, 2], rects[:, 3]
    angle = rects[:, 4].astype(np.float64) * (math.pi / 180.0)
    b = np.cos(angle).astype(np.float32) * np.float32(0.5)
    a = np.sin(angle).astype(np.float32) * np.float32(0.5)
    ah, bw, bh, aw = a * h, b * w, b * h, a * w
    pts = np.empty((len(rects), 4, 2), np.float32)
    pts[:, 0, 0], pts[:, 0, 1] = cx - ah - bw, cy + bh - aw
    pts[:, 1, 0], pts[:, 1, 1] = cx + ah - bw, cy - bh - aw
    pts[:, 2, 0], pts[:, 2, 1] = cx + ah + bw, cy - bh + aw
    pts[:, 3, 0], pts[:, 3, 1] = cx - ah + bw, cy + bh + aw
    return pts


def order_mini(pts: np.ndarray) -> np.ndarray:
    """The reference `mini_box` corner order (stable sort by x, then by y per side)."""
    idx = np.argsort(pts[:, :, 0], axis=1, kind="stable")
    p = np.take_along_axis(pts, idx[:, :, None], axis=1)
    swap_left = ~(p[:, 1, 1] > p[:, 0, 1])
    swap_right = ~(p[:, 3, 1] > p[:, 2, 1])
    out = np.empty_like(p)
    out[:, 0] = np.where(swap_left[:, None], p[:, 1], p[:, 0])
    out[:, 3] = np.where(swap_left[:, None], p[:, 0], p[:, 1])
    out[:, 1] = np.where(swap_right[:, None], p[:, 3], p[:, 2])
    out[:, 2] = np.where(swap_right[:, None], p[:, 2], p[:, 3])
    return out


def order_clockwise(boxes: np.ndarray) -> np.ndarray:
    """Reference `order_clockwise` for (N, 4, 2) boxes."""
    by_x = np.take_along_axis(
        boxes, np.argsort(boxes[:, :, 0], axis=1, kind="stable")[:, :, None], axis=1)
    left = np.take_along_axis(
        by_x[:, :2], np.argsort(by_x[:, :2, 1], axis=1, kind="stable")[:, :, None], axis=1)
    right = np.take_along_axis(
        by_x[:, 2:], np.argsort(by_x[:, 2:, 1], axis=1, kind="stable")[:, :, None], axis=1)
    return np.stack([left[:, 0], right[:, 0], right[:, 1], left[:, 1]], axis=1)


def scores_fast(prob: np.ndarray, boxes: np.ndarray,
                one_box: Callable[[np.ndarray, np.ndarray], float]) -> np.ndarray:
    """Mean probability inside each box polygon, as the reference's fillPoly mask."""
    h, w = prob.shape
    n = len(boxes)
    off_x = np.clip(np.floor(boxes[:, :, 0].min(axis=1)), 0, w - 1).astype(np.float32)
    off_y = np.clip(np.floor(boxes[:, :, 1].min(axis=1)), 0, h - 1).astype(np.float32)
    off = np.stack([off_x, off_y], axis=1)[:, None, :]
    polys = (boxes - off).astype(np.int32) + off.astype(np.int32)
    x0 = np.clip(polys[:, :, 0].min(axis=1), 0, w - 1)
    x1 = np.clip(polys[:, :, 0].max(axis=1), 0, w - 1)
    y0 = np.clip(polys[:, :, 1].min(axis=1), 0, h - 1)
    y1 = np.clip(polys[:, :, 1].max(axis=1), 0, h - 1)
    shared = _touching(x0, x1, y0, y1)
    labels = np.zeros((h, w), np.int32)
    clean = np.flatnonzero(~shared)
    list(map(cv2.fillPoly, repeat(labels, len(clean)), polys[clean][:, None],
             (clean + 1).tolist()))
    sums, counts = _label_sums(labels.ravel(), prob.ravel(), n)
    scores = np.divide(sums, counts, out=np.zeros(n), where=counts > 0)
    for i in np.flatnonzero(shared).tolist():
        scores[i] = one_box(prob, boxes[i])
    return scores


def _label_sums(labels: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum of `values` and pixel count per label 1..n (label 0 is background).

    Labels come in runs along each row, so runs are summed first (np.add.reduceat over
    float64) and the few run sums then added up per label.
    """
    starts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], starts))
    run_labels = labels[starts]
    inside = run_labels > 0
    lengths = np.diff(np.append(starts, len(labels)))[inside]
    run_sums = np.add.reduceat(values, starts, dtype=np.float64)[inside]
    run_labels = run_labels[inside]
    sums = np.bincount(run_labels, weights=run_sums, minlength=n + 1)[1:]
    counts = np.bincount(run_labels, weights=lengths, minlength=n + 1)[1:]
    return sums, counts


def _touching(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Which boxes' inclusive pixel bounds intersect another box's (may share pixels)."""
    n = len(x0)
    shared = np.zeros(n, bool)
    order = np.argsort(x0, kind="stable")
    sx0, sx1, sy0, sy1 = x0[order], x1[order], y0[order], y1[order]
    # a box can only meet boxes starting between (its start - the widest box) and its end
    last = np.searchsorted(sx0, sx1, side="right")
    widest = int((sx1 - sx0).max()) if n else 0
    for start in range(0, n, 128):
        stop = min(n, start + 128)
        lo = int(np.searchsorted(sx0, sx0[start] - widest, side="left"))
        cand = np.arange(lo, int(last[start:stop].max()))
        hit = ((sx0[cand][None, :] <= sx1[start:stop, None])
               & (sx1[cand][None, :] >= sx0[start:stop, None])
               & (sy0[cand][None, :] <= sy1[start:stop, None])
               & (sy1[cand][None, :] >= sy0[start:stop, None]))
        hit[np.arange(stop - start), np.arange(start, stop) - lo] = False
        rows = hit.any(axis=1)
        shared[order[start:stop][rows]] = True
        shared[order[cand[hit.any(axis=0)]]] = True
    return shared


def unclip_distance(boxes: np.ndarray, ratio: float) -> np.ndarray:
    """cv2.contourArea * ratio / cv2.arcLength for (N, 4, 2) float32 boxes."""
    x, y = boxes[:, :, 0].astype(np.float64), boxes[:, :, 1].astype(np.float64)
    area = np.zeros(len(boxes))
    perimeter = np.zeros(len(boxes))
    prev = 3
    for i in range(4):
        area += x[:, prev] * y[:, i] - y[:, prev] * x[:, i]
        dx = boxes[:, i, 0] - boxes[:, prev, 0]
        dy = boxes[:, i, 1] - boxes[:, prev, 1]
        perimeter += np.sqrt(dx * dx + dy * dy).astype(np.float64)
        prev = i
    return np.abs(area * 0.5) * ratio / perimeter


def _round(values: np.ndarray) -> np.ndarray:
    """Clipper's Round: half away from zero, then truncate."""
    return np.where(values < 0, values - 0.5, values + 0.5).astype(np.int64)


def offset_points(boxes: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipper's round-join offset of each (truncated integer) quad by `delta`.

    Returns (points (N, P, 2) int32 with repeats, regular (N,) bool); a box that is not
    regular (repeated corner, corner joined without an arc) must use pyclipper instead.
    """
    src = np.trunc(boxes).astype(np.int64)  # pyclipper converts coordinates with int()
    n = len(src)
    regular = np.all(np.any(src != np.roll(src, -1, axis=1), axis=2), axis=1)
    # FixOrientations: Clipper's Area(poly) < 0 -> reverse the path
    xs, ys = src[:, :, 0].astype(np.float64), src[:, :, 1].astype(np.float64)
    xj, yj = np.roll(xs, 1, axis=1), np.roll(ys, 1, axis=1)
    area = -((xj + xs) * (yj - ys)).sum(axis=1) * 0.5
    src = np.where((area < 0)[:, None, None], src[:, ::-1], src)
    nxt = np.roll(src, -1, axis=1).astype(np.float64)
    d = nxt - src
    length = np.sqrt(d[:, :, 0] ** 2 + d[:, :, 1] ** 2)
    f = 1.0 / np.where(length > 0, length, 1.0)
    normals = np.stack([d[:, :, 1] * f, -(d[:, :, 0] * f)], axis=2)  # edge j -> j+1
    prev_normals = np.roll(normals, 1, axis=1)  # k = j - 1 (k = 3 for j = 0)
    nk, nj = prev_normals, normals
    sin_a = nk[:, :, 0] * nj[:, :, 1] - nj[:, :, 0] * nk[:, :, 1]
    delta_col = delta[:, None]
    regular &= np.all(np.abs(sin_a * delta_col) >= 1.0, axis=1)
    sin_a = np.clip(sin_a, -1.0, 1.0)
    regular &= np.all(sin_a * delta_col >= 0, axis=1)
    tol = np.where(ARC_TOLERANCE > delta * ARC_TOLERANCE, delta * ARC_TOLERANCE, ARC_TOLERANCE)
    steps_circle = np.pi / np.arccos(1.0 - tol / delta)
    steps_circle = np.minimum(steps_circle, delta * np.pi)
    m_sin = np.sin(2 * np.pi / steps_circle)[:, None]
    m_cos = np.cos(2 * np.pi / steps_circle)[:, None]
    steps_per_rad = (steps_circle / (2 * np.pi))[:, None]
    cos_dot = nk[:, :, 0] * nj[:, :, 0] + nk[:, :, 1] * nj[:, :, 1]
    angle = np.arctan2(sin_a, cos_dot)
    steps = np.maximum(_round(steps_per_rad * np.abs(angle)), 1)
    most = int(steps.max()) if n else 1
    srcf = src.astype(np.float64)
    px, py = srcf[:, :, 0], srcf[:, :, 1]
    last_x = _round(px + nj[:, :, 0] * delta_col)
    last_y = _round(py + nj[:, :, 1] * delta_col)
    out = np.empty((n, 4, most + 1, 2), np.int64)
    x, y = nk[:, :, 0].copy(), nk[:, :, 1].copy()
    for i in range(most):
        live = i < steps
        out[:, :, i, 0] = np.where(live, _round(px + x * delta_col), last_x)
        out[:, :, i, 1] = np.where(live, _round(py + y * delta_col), last_y)
        x, y = x * m_cos - m_sin * y, x * m_sin + y * m_cos
    out[:, :, most, 0] = last_x
    out[:, :, most, 1] = last_y
    return out.reshape(n, -1, 2).astype(np.int32), regular
