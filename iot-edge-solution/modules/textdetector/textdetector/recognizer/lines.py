"""Text lines assembled from read boxes: parts of one line joined, in reading order.

The detector often returns one visual line as several boxes (words split by a gap, a
code whose check digit is painted in a box). Boxes are joined when they sit on the same
line (parallel, similar heights, centres level in the boxes' own frame, so tilted and
vertical lines join too) and the gap between
them is small against their height; lines then come top to bottom, parts left to right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import xyxy

ELONGATED = 1.3  # long side / short side from which a box has a direction
HORIZONTAL = np.array([1.0, 0.0])
MIN_PARALLEL = 0.985  # cos of the largest angle between two parts of a line (~10 deg)
MAX_HEIGHT_RATIO = 1.6  # taller box height / shorter box height
MAX_GAP = 0.9  # horizontal gap between neighbours, in (mean) box heights
MAX_OVERLAP_X = 0.3  # neighbours may overlap horizontally this much (grown boxes touch)
MAX_SHIFT = 0.3  # vertical offset of the two centres, in (mean) box heights


@dataclass(frozen=True)
class Line:
    """One assembled line: its text, mean confidence, union box and the parts' indices."""

    text: str
    score: float
    box: np.ndarray  # (4, 2) float32, axis-aligned union of the parts, tl tr br bl
    parts: tuple[int, ...]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "score": round(self.score, 4),
            "box": np.round(self.box, 1).tolist(),
            "parts": list(self.parts),
        }


@dataclass(frozen=True)
class _Frame:
    """A box in its own frame: centre, unit direction along its longer side (the way
    a line of text runs; None for a near-square box, e.g. one boxed digit), corners."""

    centre: np.ndarray
    along: np.ndarray | None
    corners: np.ndarray

    @classmethod
    def of(cls, quad: np.ndarray) -> _Frame:
        top = (quad[1] - quad[0] + quad[2] - quad[3]) / 2
        side = (quad[3] - quad[0] + quad[2] - quad[1]) / 2
        width, height = float(np.hypot(*top)), float(np.hypot(*side))
        along = None
        if max(width, height) >= ELONGATED * max(min(width, height), 1e-6):
            along = top / width if width >= height else side / height
            if along[0] < 0 or (along[0] == 0 and along[1] < 0):
                along = -along
        return cls(quad.mean(axis=0), along, quad)


def _extent(corners: np.ndarray, axis: np.ndarray) -> tuple[float, float]:
    values = corners @ axis
    return float(values.min()), float(values.max())


def _same_line(a: _Frame, b: _Frame) -> bool:
    """Whether box `b` continues the line of box `a`, judged along the direction of
    the line (a's, else b's, else horizontal): parallel, similar thickness, level, and
    starting just after `a` ends (a small gap or a slight overlap)."""
    if a.along is not None and b.along is not None and abs(float(a.along @ b.along)) < MIN_PARALLEL:
        return False
    along = a.along if a.along is not None else b.along
    along = HORIZONTAL if along is None else along
    normal = np.array([-along[1], along[0]])
    ha, hb = (np.subtract(*_extent(f.corners, normal)[::-1]) for f in (a, b))
    if min(ha, hb) <= 0 or max(ha, hb) / min(ha, hb) > MAX_HEIGHT_RATIO:
        return False
    height = (ha + hb) / 2
    if abs(float((b.centre - a.centre) @ normal)) > MAX_SHIFT * height:
        return False
    gap = _extent(b.corners, along)[0] - _extent(a.corners, along)[1]
    return -MAX_OVERLAP_X * height <= gap <= MAX_GAP * height


def group(boxes: np.ndarray, keep: np.ndarray | None = None) -> list[list[int]]:
    """Indices of the boxes on each line, lines top to bottom, parts left to right.

    `keep` (boolean per box) leaves boxes out, e.g. those with nothing read.
    """
    indices = [i for i in range(len(boxes)) if keep is None or keep[i]]
    if not indices:
        return []
    quads = np.asarray(boxes, np.float32).reshape(-1, 4, 2)
    frames = {i: _Frame.of(quads[i]) for i in indices}
    bounds = xyxy(quads)
    lines: list[list[int]] = []
    for i in sorted(indices, key=lambda k: (bounds[k, 0], bounds[k, 1])):
        for line in lines:
            if _same_line(frames[line[-1]], frames[i]):
                line.append(i)
                break
        else:
            lines.append([i])
    return _reading_order(lines, quads)


def _reading_order(lines: list[list[int]], quads: np.ndarray) -> list[list[int]]:
    """Lines sorted into rows (centres within half a line's thickness of the row's
    first line), rows top to bottom, lines left to right within a row."""
    centres = [quads[line].reshape(-1, 2).mean(axis=0) for line in lines]
    sides = np.linalg.norm(quads[:, [1, 3]] - quads[:, [0, 0]], axis=2).min(axis=1)
    thick = [float(sides[line].mean()) for line in lines]
    order = sorted(range(len(lines)), key=lambda k: centres[k][1])
    rows: list[list[int]] = []
    for k in order:
        first = rows[-1][0] if rows else None
        if first is not None and abs(centres[k][1] - centres[first][1]) <= 0.5 * min(
            thick[k], thick[first]
        ):
            rows[-1].append(k)
        else:
            rows.append([k])
    return [lines[k] for row in rows for k in sorted(row, key=lambda k: centres[k][0])]


def assemble(boxes: np.ndarray, texts: tuple[str, ...], scores: np.ndarray) -> list[Line]:
    """The lines of one image's read boxes (boxes with no text are left out)."""
    keep = np.array([bool(t) for t in texts], bool)
    lines = []
    for parts in group(boxes, keep):
        bounds = xyxy(np.asarray(boxes, np.float32)[parts])
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
        box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
        weights = np.array([len(texts[i]) for i in parts], np.float32)
        score = float(np.average(np.asarray(scores, np.float32)[parts], weights=weights))
        lines.append(Line(" ".join(texts[i] for i in parts), score, box, tuple(parts)))
    return lines
