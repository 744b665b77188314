"""CTC greedy decoding and the dictionary the recognition model carries in its metadata."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..errors import ModelError

CHARACTER_KEY = "character"
BLANK = 0


def charset_from_metadata(metadata: Mapping[str, str], classes: int | None = None
                          ) -> tuple[str, ...]:
    """Class labels: blank (index 0), the model's `character` symbols, then a space.

    `classes`, the width of the model's output when known, must equal the label count.
    """
    symbols = metadata.get(CHARACTER_KEY, "")
    if not symbols:
        raise ModelError(f"recognition model has no '{CHARACTER_KEY}' dictionary "
                         "in its metadata")
    labels = ("",) + tuple(symbols.splitlines()) + (" ",)
    if classes is not None and classes != len(labels):
        raise ModelError(f"recognition model dictionary has {len(labels) - 2} symbols but "
                         f"the model outputs {classes} classes (expected symbols + 2)")
    return labels


def greedy_decode(probs: np.ndarray, charset: Sequence[str]) -> list[tuple[str, float]]:
    """Decode (N, T, C) per-step class probabilities into (text, confidence) pairs.

    Per step the most likely class; repeats of the previous step's class and blanks are
    dropped; the confidence is the mean of the kept steps' probabilities (0 when none).
    """
    probs = np.asarray(probs)
    if probs.ndim != 3:
        raise ValueError(f"expected (N, T, C) probabilities, got shape {probs.shape}")
    best = probs.argmax(axis=2)
    best_prob = probs.max(axis=2)
    keep = best != BLANK
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    results = []
    for row, row_prob, row_keep in zip(best, best_prob, keep):
        kept = row[row_keep]
        text = "".join(charset[i] for i in kept)
        score = float(np.mean(row_prob[row_keep], dtype=np.float64)) if kept.size else 0.0
        results.append((text, score))
    return results
