"""A pattern left incomplete at a box's end: the box read again, extended along its line.

The detector often drops the last characters of a code when they stand apart, e.g. an
ISO 6346 check digit painted in its own frame. A box whose raw reading is a proper,
still viable beginning of the pattern (`incomplete`) is read once more on its quad
pushed `EXTEND` box heights further along the line (`extended`), clipped to the image.
"""

from __future__ import annotations

import numpy as np

from .automaton import DEAD, Automaton

EXTEND = 1.6  # box heights added at the line's end
MIN_PREFIX = 3  # characters a beginning needs before it is worth a second read


def incomplete(automaton: Automaton, raw: str) -> bool:
    """Whether `raw` (spaces dropped unless the pattern writes them) is a viable but
    unfinished beginning, once a last character the pattern never uses (a frame's edge
    read as `[`) is dropped."""
    text = raw if automaton.spaces else raw.replace(" ", "")
    if text and not _used(automaton, text[-1]):
        text = text[:-1]
    state = 0
    for char in text:
        symbol = automaton.symbol(char)
        state = DEAD if symbol is None else int(automaton.table[state, symbol])
        if state == DEAD:
            return False
    return len(text) >= MIN_PREFIX and not automaton.finals[state]


def _used(automaton: Automaton, char: str) -> bool:
    symbol = automaton.symbol(char)
    return symbol is not None and bool((automaton.table[:, symbol] != DEAD).any())


def extended(quad: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """`quad` (tl, tr, br, bl) with its right edge pushed EXTEND heights along its top
    direction, clipped to the image."""
    quad = np.asarray(quad, np.float32)
    along = quad[1] - quad[0]
    length = float(np.linalg.norm(along))
    if length < 1:
        return quad
    height = float(np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    shift = along / length * EXTEND * height
    out = quad.copy()
    out[1] += shift
    out[2] += shift
    limit = np.array([image_shape[1] - 1, image_shape[0] - 1], np.float32)
    return np.clip(out, 0, limit)
