"""CTC prefix beam search constrained by an automaton: the most probable matching string.

Prefix beam search sums, for every candidate string, the probability of all the CTC
alignments that collapse to it (ending in a blank: `pb`, in its last label: `pnb`).
Each beam also carries its automaton state; a label the state cannot move on is never
appended, so every surviving prefix can still match and the answer is the most
probable string the pattern accepts. Per step the work is a few numpy operations over
the beams x the step's likely classes (those of the pattern's classes above `CUTOFF`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .automaton import DEAD, Bound

BEAM = 8  # prefixes kept per step
CUTOFF = 1e-4  # classes below this probability at a step are not appended there
TOP = 6  # at most this many classes appended per step
_MULT = np.int64(1_000_003)  # prefix hash: h * _MULT + label + 1 (wrapping int64)


@dataclass(frozen=True)
class Match:
    """The most probable accepted non-empty string and its probability (0 and "" when
    none)."""

    text: str
    probability: float

    @property
    def matched(self) -> bool:
        return bool(self.text)


@dataclass
class _Beams:
    hashes: np.ndarray  # (B,) int64
    states: np.ndarray  # (B,) int64 automaton state
    last: np.ndarray  # (B,) int64 last column appended, 0 when none
    pb: np.ndarray  # (B,) float64, scaled
    pnb: np.ndarray  # (B,) float64, scaled
    labels: list[tuple[int, ...]]


def _start() -> _Beams:
    one = np.ones(1)
    zero = np.zeros(1, np.int64)
    return _Beams(zero, zero.copy(), zero.copy(), one, np.zeros(1), [()])


def search(probs: np.ndarray, bound: Bound, beam: int = BEAM) -> Match:
    """The most probable string `bound` accepts in one line's (T, C) class probabilities."""
    return search_columns(columns_of(probs, bound), bound, beam)


def search_columns(columns: np.ndarray, bound: Bound, beam: int = BEAM) -> Match:
    """`search` over the (T, K) probabilities of the bound's columns (`columns_of`)."""
    beams, log_scale = _start(), 0.0
    for row in columns:
        beams = _step(beams, row, bound.table, beam)
        scale = float((beams.pb + beams.pnb).max())
        if scale <= 0.0:
            return Match("", 0.0)
        beams.pb /= scale
        beams.pnb /= scale
        log_scale += np.log(scale)
    return _best(beams, bound, log_scale)


def columns_of(probs: np.ndarray, bound: Bound) -> np.ndarray:
    """(T, K) float64 probabilities of the bound's columns (the space added to the blank)."""
    columns = np.asarray(probs, np.float64)[:, bound.classes]
    if bound.space is not None:
        columns[:, 0] += probs[:, bound.space]
    return columns


def _step(beams: _Beams, row: np.ndarray, table: np.ndarray, width: int) -> _Beams:
    repeat = np.where(beams.last > 0, row[beams.last], 0.0)
    stay_pb = (beams.pb + beams.pnb) * row[0]
    stay_pnb = beams.pnb * repeat
    likely = np.flatnonzero(row[1:] >= CUTOFF) + 1
    if likely.size == 0:
        return _Beams(beams.hashes, beams.states, beams.last, stay_pb, stay_pnb, beams.labels)
    if likely.size > TOP:
        likely = likely[np.argsort(row[likely])[-TOP:]]
    nxt = table[beams.states[:, None], likely[None, :]]
    parent, pick = np.nonzero(nxt != DEAD)
    label = likely[pick]
    before = np.where(
        label == beams.last[parent], beams.pb[parent], beams.pb[parent] + beams.pnb[parent]
    )
    hashes = np.concatenate([beams.hashes, beams.hashes[parent] * _MULT + label + 1])
    pb = np.concatenate([stay_pb, np.zeros(label.size)])
    pnb = np.concatenate([stay_pnb, before * row[label]])
    return _merge(beams, hashes, pb, pnb, parent, label, nxt[parent, pick], width)


def _merge(beams, hashes, pb, pnb, parent, label, states, width) -> _Beams:
    """Sum the candidates that are the same prefix, keep the `width` most probable."""
    keys, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    pb_sum = np.bincount(inverse, pb, keys.size)
    pnb_sum = np.bincount(inverse, pnb, keys.size)
    total = pb_sum + pnb_sum
    keep = np.argsort(-total, kind="stable")[:width]
    source = first[keep]
    count = beams.hashes.size
    all_states = np.concatenate([beams.states, states])
    all_last = np.concatenate([beams.last, label])
    labels = [
        beams.labels[s] if s < count else beams.labels[parent[s - count]] + (int(label[s - count]),)
        for s in source
    ]
    return _Beams(
        keys[keep], all_states[source], all_last[source], pb_sum[keep], pnb_sum[keep], labels
    )


def _best(beams: _Beams, bound: Bound, log_scale: float) -> Match:
    total = beams.pb + beams.pnb
    filled = np.array([bool(labels) for labels in beams.labels])
    accepted = np.flatnonzero(bound.finals[beams.states] & (total > 0) & filled)
    if accepted.size == 0:
        return Match("", 0.0)
    best = accepted[np.argmax(total[accepted])]
    text = "".join(bound.labels[c] for c in beams.labels[best])
    return Match(text, float(np.exp(np.log(total[best]) + log_scale)))
