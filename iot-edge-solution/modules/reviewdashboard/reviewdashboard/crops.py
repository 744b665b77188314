"""Line crops for a recognition dataset, cut as the textdetector's recogniser cuts them.

The quadrilateral (top-left, top-right, bottom-right, bottom-left) is perspective-warped
(bicubic) to an upright rectangle as wide as its longer top/bottom side and as tall as
its longer left/right side (PaddleOCR's `get_rotate_crop_image`); a crop at least 1.5
times taller than wide is turned 90 degrees counter-clockwise. Pillow does the warp
(`Image.transform` with a perspective), so the dashboard needs no OpenCV.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image

TALL_RATIO = 1.5
Point = tuple[float, float]


def crop_size(quad: Sequence[Point]) -> tuple[int, int]:
    """(width, height) of the crop of `quad`, truncated to whole pixels."""
    width = max(math.dist(quad[0], quad[1]), math.dist(quad[2], quad[3]))
    height = max(math.dist(quad[0], quad[3]), math.dist(quad[1], quad[2]))
    return int(width), int(height)


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8 unknowns); ValueError if singular."""
    n = len(rhs)
    rows = [row[:] + [value] for row, value in zip(matrix, rhs)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) < 1e-12:
            raise ValueError("degenerate quadrilateral")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(col + 1, n):
            factor = rows[r][col] / rows[col][col]
            for c in range(col, n + 1):
                rows[r][c] -= factor * rows[col][c]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        tail = sum(rows[r][c] * out[c] for c in range(r + 1, n))
        out[r] = (rows[r][n] - tail) / rows[r][r]
    return out


def perspective_coefficients(target: Sequence[Point], source: Sequence[Point]) -> tuple[float, ...]:
    """Pillow's 8 PERSPECTIVE coefficients mapping each output point in `target` to the
    input point in `source`."""
    matrix: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(target, source):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return tuple(_solve(matrix, rhs))


def crop_quad(image: Image.Image, quad: Sequence[Point]) -> Image.Image | None:
    """The upright RGB crop of one line, or None when it has no pixels."""
    points = [(float(x), float(y)) for x, y in quad]
    if len(points) != 4 or not all(math.isfinite(v) for p in points for v in p):
        return None
    width, height = crop_size(points)
    if width < 1 or height < 1:
        return None
    target = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]
    try:
        coefficients = perspective_coefficients(target, points)
    except ValueError:
        return None
    crop = image.convert("RGB").transform(
        (width, height), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    if height / width >= TALL_RATIO:
        crop = crop.transpose(Image.Transpose.ROTATE_90)
    return crop


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
