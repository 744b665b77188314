"""Stacked letters read as one word (REC_STACKED).

A vertical sign often stacks upright letters one above the other (`H`, `O`, `T`, `E`,
`L`). The detector boxes such letters one by one or a few together, and each box, read
on its own, is one character (`0` for `O`), nothing (a lone `I` falls below
REC_MIN_SCORE_SHORT) or single characters apart (`H A R M A C`, a tall box read as
stacked letters). After a still is read, a column of such boxes holding three letters or
more, of similar letter height, one under the next and centred on one axis, at least half
of its boxes read, is cut out letter by letter, the letters laid side by side, and read
once more as a line: when that reads letters only, at least as many as the boxes read
and at REC_MIN_SCORE, the column becomes one region with that word. A box may have read a
digit (`O` as `0`), but a column that reads digits (a table's cells, a tape measure)
never joins.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ..detector.preprocess import as_bgr
from ..geometry import union_quad, xyxy
from ..results import Detections
from .recognizer import TextRecognizer

MIN_LETTERS = 3  # boxes in a column
MAX_ASPECT = 1.5  # a letter's box: width at most this times its height
MAX_GAP = 0.8  # between two letters: at most this times the taller one's height
MAX_OVERLAP = 0.3  # or overlapping by at most this times it (grown boxes touch)
MAX_HEIGHTS = 1.6  # the taller of two neighbours at most this times the other
MIN_OVERLAP = 0.5  # horizontal overlap: at least this share of the narrower box
MAX_OFFSET = 0.35  # centres at most this times the wider box's width apart


def _stacks(bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(N, N) bool: whether box j (x0, y0, x1, y1; `counts[j]` letters one above the
    other) is the letter under box i in a column (their letters' heights compared)."""
    x0, y0, x1, y1 = (bounds[:, k] for k in range(4))
    letter = (y1 - y0) / counts
    taller = np.maximum(letter[:, None], letter[None, :])
    shorter = np.maximum(np.minimum(letter[:, None], letter[None, :]), 1e-6)
    gap = y0[None, :] - y1[:, None]
    width = x1 - x0
    overlap = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    offset = np.abs((x0 + x1)[:, None] - (x0 + x1)[None, :]) / 2
    return (
        (taller <= MAX_HEIGHTS * shorter)
        & (gap >= -MAX_OVERLAP * taller)
        & (gap <= MAX_GAP * taller)
        & (overlap >= MIN_OVERLAP * np.minimum(width[:, None], width[None, :]))
        & (offset <= MAX_OFFSET * np.maximum(width[:, None], width[None, :]))
    )


def columns(boxes: np.ndarray, counts: list[int] | None = None) -> list[list[int]]:
    """Runs of at least MIN_LETTERS letters stacked one under the next, top to bottom
    (indices into `boxes`; each box in one run at most). `counts[i]`: how many letters box
    i holds one above the other (1 each by default)."""
    counts = counts or [1] * len(boxes)
    if sum(counts) < MIN_LETTERS or len(boxes) < 2:
        return []
    bounds = xyxy(boxes).astype(np.float64)
    many = np.asarray(counts, np.float64)
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    shaped = (width > 0) & (width <= MAX_ASPECT * height / many)
    below = _stacks(bounds, many) & shaped[:, None] & shaped[None, :]
    np.fill_diagonal(below, False)
    free = shaped.copy()
    runs = []
    for first in np.argsort(bounds[:, 1], kind="stable").tolist():
        if not free[first]:
            continue
        run = [first]
        free[first] = False
        while (nexts := np.flatnonzero(below[run[-1]] & free)).size:
            run.append(int(nexts[np.argmin(bounds[nexts, 1])]))
            free[run[-1]] = False
        if sum(counts[i] for i in run) >= MIN_LETTERS and len(run) >= 2:
            runs.append(run)
        else:
            free[run] = True  # too short: its boxes may still join a later run
    return runs


def strip(
    image: np.ndarray, boxes: np.ndarray, counts: list[int] | None = None
) -> np.ndarray | None:
    """The column's letters cut out one by one (the column's full width, each letter's
    own rows; a box of `counts[i]` letters cut in that many equal rows), resized to one
    height and laid side by side, left to right."""
    counts = counts or [1] * len(boxes)
    bounds = xyxy(boxes)
    x0, x1 = int(max(0, bounds[:, 0].min())), int(min(image.shape[1], np.ceil(bounds[:, 2].max())))
    rows = [
        (top + k * (bottom - top) / n, top + (k + 1) * (bottom - top) / n)
        for (_, top, _, bottom), n in zip(bounds, counts)
        for k in range(n)
    ]
    height = max(int(np.median([b - t for t, b in rows])), 1)
    cells = []
    for top, bottom in rows:
        cell = image[int(max(0, top)) : int(min(image.shape[0], np.ceil(bottom))), x0:x1]
        if cell.size:
            cells.append(cv2.resize(np.ascontiguousarray(cell), (max(x1 - x0, 1), height)))
    return np.ascontiguousarray(np.hstack(cells)) if len(cells) >= MIN_LETTERS else None


def join_stacked(recognizer: TextRecognizer, image: np.ndarray, read: Detections) -> Detections:
    """`read` (a still's boxes, read) with each column of stacked letters that reads as
    one word (module docstring) replaced by one region holding that word, added last."""
    texts, scores = read.texts, read.text_scores
    constrained = recognizer.constraint is not None or bool(recognizer.settings.rec_allowed_chars)
    if texts is None or scores is None or constrained:
        return read  # nothing read, or read under a pattern, lexicon or character set
    count = {i: n for i, t in enumerate(texts) if (n := _letters(t)) is not None}
    letters = list(count)
    runs = columns(read.boxes[letters], [count[i] for i in letters])
    found = [[letters[i] for i in run] for run in runs]
    cut, bgr = [], as_bgr(image) if found else image
    for run in found:
        crop = strip(bgr, read.boxes[run], [count[i] for i in run])
        if crop is not None:
            cut.append((run, crop))
    if not cut:
        return read
    words, minimum = [], recognizer.settings.rec_min_score
    for (run, _), reading in zip(cut, recognizer.read_lines([crop for _, crop in cut])):
        word, parts_read = reading.text.replace(" ", ""), sum(1 for i in run if texts[i])
        if 2 * parts_read < len(run):
            continue  # mostly shapes that read nothing: not a column of letters
        enough = max(MIN_LETTERS, sum(count[i] for i in run if texts[i]))
        if word.isalpha() and len(word) >= enough and reading.raw_score >= minimum:
            words.append((run, word, reading.raw_score))
    return _replaced(read, words) if words else read


def _letters(text: str) -> int | None:
    """How many stacked letters a box that read `text` holds: 1 for one character or
    nothing; n for n single characters apart (a tall region read as stacked letters,
    `H A R M A C`); None for anything else (a word, a line)."""
    tokens = text.split()
    if all(len(t) == 1 and t.isalnum() for t in tokens):
        return max(len(tokens), 1)
    return None


def _replaced(read: Detections, words: list[tuple[list[int], str, float]]) -> Detections:
    """`read` without each word's boxes, and each word's column as one box, added last."""
    assert read.texts is not None and read.text_scores is not None
    gone = {i for run, _, _ in words for i in run}
    keep = [i for i in range(len(read.boxes)) if i not in gone]
    unions = [union_quad(read.boxes[run]) for run, _, _ in words]
    return dataclasses.replace(
        read,
        boxes=np.concatenate([read.boxes[keep], np.array(unions, np.float32)]),
        scores=np.concatenate(
            [read.scores[keep], [float(read.scores[run].mean()) for run, _, _ in words]]
        ).astype(np.float32),
        texts=tuple(read.texts[i] for i in keep) + tuple(w for _, w, _ in words),
        text_scores=np.concatenate([read.text_scores[keep], [s for _, _, s in words]]).astype(
            np.float32
        ),
    )
