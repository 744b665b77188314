"""Zone polygons: validity (at least three corners, no crossing edges) and membership."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Point = tuple[float, float]


def _orientation(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segments ab and cd share a point (touching counts)."""
    o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
    o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def self_intersecting(points: Sequence[Point]) -> bool:
    """Whether two edges of the closed polygon meet other than at their shared corner
    (a repeated corner, a figure of eight, an edge folding back)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            adjacent = j == i + 1 or (i == 0 and j == n - 1)
            if adjacent:
                a, b = edges[i]
                c, d = edges[j]
                shared = b if j == i + 1 else a
                other_i = a if j == i + 1 else b
                other_j = d if j == i + 1 else c
                # adjacent edges may only share their corner: no overlap back along the edge
                if _orientation(other_i, shared, other_j) == 0 and (
                    _on_segment(shared, other_i, other_j) or _on_segment(shared, other_j, other_i)
                ):
                    return True
                continue
            if segments_cross(*edges[i], *edges[j]):
                return True
    return False


def area(points: Sequence[Point]) -> float:
    """The polygon's area (shoelace formula)."""
    pts = np.asarray(points, np.float64)
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def contains(polygon: np.ndarray, point: tuple[float, float]) -> bool:
    """Whether `point` lies inside (or on the edge of) the (P, 2) float32 `polygon`."""
    return cv2.pointPolygonTest(polygon, (float(point[0]), float(point[1])), False) >= 0
