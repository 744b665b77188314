"""CTC greedy decoding and the dictionary the recognition model carries in its metadata."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ModelError

CHARACTER_KEY = "character"
BLANK = 0
# REC_SPACES=auto: a space goes between two characters when, on a blank step between
# them, the model gave its space class at least this probability. Measured on the demo
# video and the rendered evaluation set: word gaps peak at 0.04-0.50, gaps inside a word
# stay below 0.065 (95 % below 0.005); see tools/eval.py.
SPACE_MIN = 0.05
_RUN_OF_SPACES = re.compile(" {2,}")


def charset_from_metadata(
    metadata: Mapping[str, str], classes: int | None = None
) -> tuple[str, ...]:
    """Class labels: blank (index 0), the model's `character` symbols, then a space.

    `classes`, the width of the model's output when known, must equal the label count.
    """
    symbols = metadata.get(CHARACTER_KEY, "")
    if not symbols:
        raise ModelError(f"recognition model has no '{CHARACTER_KEY}' dictionary in its metadata")
    labels = ("",) + tuple(symbols.splitlines()) + (" ",)
    if classes is not None and classes != len(labels):
        raise ModelError(
            f"recognition model dictionary has {len(labels) - 2} symbols but "
            f"the model outputs {classes} classes (expected symbols + 2)"
        )
    return labels


# REC_LANG: the characters a language setting lets the decoder pick (blank and space are
# always allowed). Latin: ASCII, Latin-1 letters and signs, Latin Extended-A.
LANGUAGES = ("all", "latin", "en")
_ASCII = {chr(c) for c in range(0x21, 0x7F)}
_LATIN = _ASCII | {chr(c) for c in range(0xA1, 0x180)} | set("€‘’“”–—…•")
_LANGUAGE_SETS = {"en": _ASCII, "latin": _LATIN}


def allowed_classes(charset: Sequence[str], language: str, chars: str = "") -> np.ndarray | None:
    """Indices of the classes `language` allows (blank first, space last), None for all.

    `chars` (REC_ALLOWED_CHARS, the inside of a regular-expression class such as
    A-Z0-9) narrows them further. Decoding then picks the most probable allowed class
    at each step: a masked class is never decoded, so an accented or CJK lookalike
    cannot replace a plain letter, nor an O a zero where only digits are allowed.
    """
    if language == "all" and not chars:
        return None
    keep = _LANGUAGE_SETS.get(language)
    listed = re.compile(f"[{chars}]") if chars else None
    inner = [
        i
        for i, symbol in enumerate(charset[1:-1], start=1)
        if (keep is None or symbol in keep) and (listed is None or listed.fullmatch(symbol))
    ]
    return np.array([0, *inner, len(charset) - 1], np.int64)


def greedy_decode(
    probs: np.ndarray, charset: Sequence[str], space_min: float | None = None
) -> list[tuple[str, float]]:
    """Decode (N, T, C) per-step class probabilities into (text, confidence) pairs.

    Per step the most likely class; repeats of the previous step's class and blanks are
    dropped; the confidence is the mean of the kept steps' probabilities (0 when none).
    With `space_min`, spaces the model hinted at but did not pick are put back
    (`space_gaps`); they add no step to the confidence. Then a line's text is tidied
    too: no space at either end, no run of spaces, and a line of spaces only reads
    nothing (text "", confidence 0).
    """
    probs = np.asarray(probs)
    if probs.ndim != 3:
        raise ValueError(f"expected (N, T, C) probabilities, got shape {probs.shape}")
    best = probs.argmax(axis=2)
    best_prob = probs.max(axis=2)
    results = []
    for row, row_probs, row_prob in zip(best, probs, best_prob):
        text, keep = decode_path(row, row_probs[:, -1], charset, space_min)
        score = float(np.mean(row_prob[keep], dtype=np.float64)) if text else 0.0
        results.append((text, score))
    return results


def decode_path(
    path: np.ndarray, space_probs: np.ndarray, charset: Sequence[str], space_min: float | None
) -> tuple[str, np.ndarray]:
    """One line's text from its (T,) class per step, and which steps it kept.

    `space_probs`: the space class's probability per step (for `space_gaps`)."""
    keep = path != BLANK
    keep[1:] &= path[1:] != path[:-1]
    kept = path[keep]
    symbols = [charset[i] for i in kept]
    if space_min is not None and kept.size > 1:
        gaps = space_gaps(path, space_probs, keep, len(charset) - 1, space_min)
        for gap in reversed(np.flatnonzero(gaps)):
            symbols.insert(gap + 1, " ")
    text = "".join(symbols)
    if space_min is not None:
        text = _RUN_OF_SPACES.sub(" ", text).strip(" ")
    return text, keep


def space_gaps(
    best: np.ndarray, space_probs: np.ndarray, keep: np.ndarray, space: int, space_min: float
) -> np.ndarray:
    """For each pair of consecutive kept steps of one line, whether a space belongs between.

    True where neither kept class is the space and some blank step between them gave the
    space class at least `space_min` (PP-OCR's Chinese models often rank a word gap's
    space second to the blank, so greedy decoding drops it: "EDGEVISIONAI").
    """
    steps = np.flatnonzero(keep)
    evidence = np.where(best == BLANK, space_probs, 0.0)
    # max over [steps[k], steps[k + 1]): the kept step itself is never blank, so 0 there
    peak = np.maximum.reduceat(evidence, steps)[:-1]
    letters = best[steps] != space
    return (peak >= space_min) & letters[:-1] & letters[1:]
