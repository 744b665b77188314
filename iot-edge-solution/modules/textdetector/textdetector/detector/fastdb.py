"""Vectorised DB post-process giving the reference loop's boxes (see postprocess.py).

The reference visits each contour in Python: minAreaRect, a fillPoly mask per box for
the score, a pyclipper round-join offset, minAreaRect again. Here only minAreaRect stays
per box (one OpenCV call each); the rest runs on arrays of boxes:

- box corners (OpenCV's float32 `RotatedRect::points` arithmetic) and sorting;
- scores: the boxes whose pixel bounds touch no other box are filled into one mask by a
  single fillPoly call, and each box's bounds are summed from a gather of their pixels
  (float64, one `reduceat`); boxes that may share pixels are scored one by one exactly
  as the reference does;
- unclip: Clipper's round-join offset (ClipperOffset::DoOffset/DoRound, integer input
  and rounding included) evaluated for all boxes at once; a box outside the regular case
  (a collapsed or concave corner) goes through pyclipper itself.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import cv2
import numpy as np

ARC_TOLERANCE = 0.25  # pyclipper's PyclipperOffset default
NEXT = [1, 2, 3, 0]  # corner j -> j + 1 (cyclic)
PREV = [3, 0, 1, 2]  # corner j -> j - 1
_SCRATCH = threading.local()


def scratch(name: str, size: int, dtype: np.dtype) -> np.ndarray:
    """A 1-D buffer of `size` items kept per thread and reused from frame to frame.

    Frame-sized temporaries allocated afresh on every frame cost page faults (the
    allocator hands large blocks back to the system); reusing them avoids that.
    """
    buf = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = np.empty(size + size // 4, dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:size]


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


def _by_x(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat row indices of (N, 4, 2) corners stably sorted by x, and the sorted y values."""
    idx = np.argsort(pts[:, :, 0], axis=1, kind="stable") + 4 * np.arange(len(pts))[:, None]
    return idx, pts[:, :, 1].ravel()[idx]


def _pick(
    pts: np.ndarray, idx: np.ndarray, swap_left: np.ndarray, swap_right: np.ndarray
) -> np.ndarray:
    """Corners tl, tr, br, bl from the x-sorted indices: left = sorted 0, 1 (swapped where
    `swap_left`), right = sorted 2, 3 (swapped where `swap_right`)."""
    sel = idx[:, [0, 2, 3, 1]]
    sel[swap_left, 0], sel[swap_left, 3] = idx[swap_left, 1], idx[swap_left, 0]
    sel[swap_right, 1], sel[swap_right, 2] = idx[swap_right, 3], idx[swap_right, 2]
    return pts.reshape(-1, 2)[sel]


def order_mini(pts: np.ndarray) -> np.ndarray:
    """The reference `mini_box` corner order (stable sort by x, then by y per side)."""
    idx, y = _by_x(pts)
    return _pick(pts, idx, ~(y[:, 1] > y[:, 0]), ~(y[:, 3] > y[:, 2]))


def order_clockwise(boxes: np.ndarray) -> np.ndarray:
    """Reference `order_clockwise` for (N, 4, 2) boxes."""
    idx, y = _by_x(boxes)
    return _pick(boxes, idx, y[:, 1] < y[:, 0], y[:, 3] < y[:, 2])


def scores_fast(
    prob: np.ndarray, boxes: np.ndarray, one_box: Callable[[np.ndarray, np.ndarray], float]
) -> np.ndarray:
    """Mean probability inside each box polygon, as the reference's fillPoly mask.

    Boxes whose pixel bounds meet no other box's are filled together in one mask and
    summed over their own bounds (float64, as cv2.mean); the others are scored one by
    one with `one_box`.
    """
    h, w = prob.shape
    last = np.array([w - 1, h - 1], np.int32)
    # the reference's crop origin and its float32 shift, truncated to int32 pixels
    off = np.minimum(np.maximum(np.floor(corner_min(boxes)), 0), last.astype(np.float32))
    off = off[:, None]
    polys = (boxes - off).astype(np.int32) + off.astype(np.int32)
    lo = np.minimum(np.maximum(corner_min(polys), 0), last)
    hi = np.minimum(np.maximum(corner_max(polys), 0), last)
    shared = _touching(lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1])
    clean = np.flatnonzero(~shared)
    mask = scratch("mask", h * w, np.dtype(np.uint8)).reshape(h, w)
    mask.fill(0)
    cv2.fillPoly(mask, list(polys[clean]), 1)
    scores = np.zeros(len(boxes))
    if len(clean):
        sums, counts = _bound_sums(prob, mask, lo[clean], hi[clean])
        scores[clean] = np.divide(sums, counts, out=np.zeros(len(clean)), where=counts > 0)
    for i in np.flatnonzero(shared).tolist():
        scores[i] = one_box(prob, boxes[i])
    return scores


def corner_min(boxes: np.ndarray) -> np.ndarray:
    """Per-box minimum x and y of (N, 4, 2) corners: (N, 2) (faster than .min(axis=1))."""
    return np.minimum(np.minimum(boxes[:, 0], boxes[:, 1]), np.minimum(boxes[:, 2], boxes[:, 3]))


def corner_max(boxes: np.ndarray) -> np.ndarray:
    """Per-box maximum x and y of (N, 4, 2) corners: (N, 2)."""
    return np.maximum(np.maximum(boxes[:, 0], boxes[:, 1]), np.maximum(boxes[:, 2], boxes[:, 3]))


def _bound_sums(
    prob: np.ndarray, mask: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of prob * mask (float64) and of mask over each inclusive rectangle [lo, hi].

    The rectangles' pixels are gathered row segment by row segment into one array, box
    after box, so one `reduceat` sums each box; only the boxes' pixels are read.
    """
    width = prob.shape[1]
    box_w, box_h = (hi - lo + 1).T
    seg_box = np.repeat(np.arange(len(lo)), box_h)  # one segment per box row
    seg_row = np.arange(len(seg_box)) - np.repeat(np.cumsum(box_h) - box_h, box_h)
    seg_start = (lo[seg_box, 1] + seg_row) * width + lo[seg_box, 0]
    seg_len = box_w[seg_box]
    seg_first = np.cumsum(seg_len) - seg_len  # where each segment lands in the gather
    # flat pixel indices as a running sum: +1 along a segment, a jump to the next one
    total = int(seg_first[-1] + seg_len[-1])
    pixels = scratch("pixels", total, np.dtype(np.intp))
    pixels.fill(1)
    pixels[0] = seg_start[0]
    pixels[seg_first[1:]] = seg_start[1:] - seg_start[:-1] - seg_len[:-1] + 1
    np.cumsum(pixels, out=pixels)
    inside = mask.ravel().take(pixels, out=scratch("inside", total, mask.dtype), mode="clip")
    values = prob.ravel().take(pixels, out=scratch("values", total, prob.dtype), mode="clip")
    values *= inside
    box_first = np.cumsum(box_w * box_h) - box_w * box_h
    return (
        np.add.reduceat(values, box_first, dtype=np.float64),
        np.add.reduceat(inside, box_first, dtype=np.int64),
    )


def _touching(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Which boxes' inclusive pixel bounds intersect another box's (may share pixels).

    In x0 order, a box can only meet the boxes after it that start at or before its x1:
    each box is compared with that window (at most max_candidates wide) in one array op.
    """
    n = len(x0)
    shared = np.zeros(n, bool)
    order = np.argsort(x0, kind="stable")
    sx0, sx1, sy0, sy1 = x0[order], x1[order], y0[order], y1[order]
    last = np.searchsorted(sx0, sx1, side="right")  # boxes i+1..last-1 overlap i in x
    window = int((last - np.arange(n)).max(initial=1)) - 1
    if window <= 0:
        return shared
    after = np.arange(n)[:, None] + np.arange(1, window + 1)
    inside = after < last[:, None]
    after = np.minimum(after, n - 1)
    hit = inside & (sy0[after] <= sy1[:, None]) & (sy1[after] >= sy0[:, None])
    shared[order[hit.any(axis=1)]] = True
    shared[order[after[hit]]] = True
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
    """Clipper's Round: half away from zero, then truncate (to int32)."""
    return (values + np.copysign(0.5, values)).astype(np.int32)


def offset_points(boxes: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipper's round-join offset of each (truncated integer) quad by `delta`.

    Returns (points (N, P, 2) int32 with repeats, regular (N,) bool); a box that is not
    regular (repeated corner, corner joined without an arc) must use pyclipper instead.
    """
    src = np.trunc(boxes).astype(np.float64)  # pyclipper converts coordinates with int()
    n = len(src)
    # FixOrientations: Clipper's Area(poly) < 0 -> reverse the path (exact on integers)
    xs, ys = src[:, :, 0], src[:, :, 1]
    area = ((xs[:, PREV] + xs) * (ys[:, PREV] - ys)).sum(axis=1)
    src = np.where((area > 0)[:, None, None], src[:, ::-1], src)
    d = src[:, NEXT] - src
    length = np.sqrt(d[:, :, 0] ** 2 + d[:, :, 1] ** 2)
    regular = length.min(axis=1) > 0  # no repeated corner
    f = 1.0 / np.where(length > 0, length, 1.0)
    nj = np.stack([d[:, :, 1] * f, -(d[:, :, 0] * f)], axis=2)  # normal of edge j -> j+1
    nk = nj[:, PREV]  # k = j - 1 (k = 3 for j = 0)
    sin_a = nk[:, :, 0] * nj[:, :, 1] - nj[:, :, 0] * nk[:, :, 1]
    delta_col = delta[:, None]
    regular &= np.abs(sin_a * delta_col).min(axis=1) >= 1.0
    sin_a = np.clip(sin_a, -1.0, 1.0)
    regular &= (sin_a * delta_col).min(axis=1) >= 0
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
    # arc directions: Clipper rotates the previous normal step by step (same float ops),
    # then ends on this edge's normal; steps past a corner's count repeat that end point
    dirs = np.empty((n, 4, most + 1, 2))
    x, y = nk[:, :, 0], nk[:, :, 1]
    for i in range(most):
        dirs[:, :, i, 0], dirs[:, :, i, 1] = x, y
        x, y = x * m_cos - m_sin * y, x * m_sin + y * m_cos
    done = np.arange(most + 1) >= steps[:, :, None]
    np.copyto(dirs, nj[:, :, None, :], where=done[..., None])
    out = _round(src[:, :, None, :] + dirs * delta[:, None, None, None])
    return out.reshape(n, -1, 2), regular
