"""A pattern spanning several boxes of one line: neighbours tried in reading order.

The detector often splits a code into boxes (`CSQU`, `305438`, a boxed check digit).
A box whose own reading matches nothing is chained with the boxes that continue it to
the right (level with it, a small gap away); their CTC outputs, joined with one blank
step between, are searched as one line, longest chain first. A match covers the run's
boxes: one reading with their union box.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...geometry import xyxy

MAX_PARTS = 4  # boxes in one run at most
MAX_GAP = 2.5  # gap to the next box, in box heights (a boxed digit sits further out)
MAX_SHIFT = 0.5  # vertical offset of the centres, in box heights
MAX_HEIGHT_RATIO = 3.0


def chain(quads: np.ndarray, start: int, free: set[int]) -> list[int]:
    """`start` and the free boxes continuing its line to the right, in order."""
    parts = [start]
    while len(parts) < MAX_PARTS:
        nxt = _next(quads, parts[-1], free - set(parts))
        if nxt is None:
            break
        parts.append(nxt)
    return parts


def _height(quad: np.ndarray) -> float:
    return float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2


def _next(quads: np.ndarray, index: int, candidates: set[int]) -> int | None:
    """The nearest candidate whose left edge continues `index`'s right edge: level with
    it, of a similar height, a small gap away (judged at the edges, so tilted lines and
    a boxed digit's frame do not matter)."""
    quad = quads[index]
    height = _height(quad)
    right = (quad[1] + quad[2]) / 2
    best, best_gap = None, None
    for other in candidates:
        left = (quads[other][0] + quads[other][3]) / 2
        other_height = _height(quads[other])
        gap = float(left[0] - right[0])
        level = abs(float(left[1] - right[1])) <= MAX_SHIFT * max(height, other_height)
        similar = max(height, other_height) <= MAX_HEIGHT_RATIO * max(min(height, other_height), 1)
        if level and similar and -0.3 * height <= gap <= MAX_GAP * height:
            if best_gap is None or gap < best_gap:
                best, best_gap = other, gap
    return best


def join(columns: Sequence[np.ndarray]) -> np.ndarray:
    """The parts' (T, K) outputs one after another, a certain blank step between."""
    blank = np.zeros((1, columns[0].shape[1]))
    blank[0, 0] = 1.0
    pieces = []
    for part in columns:
        pieces += [part, blank]
    return np.concatenate(pieces[:-1])


def runs(
    boxes: np.ndarray,
    unmatched: Sequence[int],
    try_run: Callable[[list[int]], bool],
) -> list[list[int]]:
    """Runs of boxes, starting at an unmatched box in reading order, that `try_run`
    accepts (it records the match); each box joins one run at most."""
    if not len(unmatched):
        return []
    quads = np.asarray(boxes, np.float32).reshape(-1, 4, 2)
    bounds = xyxy(quads)
    free = set(unmatched)
    found = []
    for start in sorted(unmatched, key=lambda i: (bounds[i, 0], bounds[i, 1])):
        if start not in free:
            continue
        parts = chain(quads, start, free - {start})
        for length in range(len(parts), 1, -1):
            if try_run(parts[:length]):
                found.append(parts[:length])
                free -= set(parts[:length])
                break
    return found
