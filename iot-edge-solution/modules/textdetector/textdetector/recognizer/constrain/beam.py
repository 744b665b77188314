"""CTC prefix beam search constrained by an automaton: the most probable matching string.

Prefix beam search sums, for every candidate string, the probability of all the CTC
alignments that collapse to it (ending in a blank: `pb`, in its last label: `pnb`).
Each beam also carries its automaton state; a label the state cannot move on is never
appended, so every surviving prefix can still match and the answer is the most
probable string the pattern accepts. Per step the work is the beams x the step's likely
classes (the pattern's classes above `CUTOFF`): a few dozen, so plain Python floats and
dicts beat numpy's per-call overhead here.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .automaton import DEAD, Bound

BEAM = 8  # prefixes kept per step
CUTOFF = 1e-4  # classes below this probability at a step are not appended there
TOP = 6  # at most this many classes appended per step
RESCALE = 8  # every this many steps the probabilities are rescaled (no underflow)


@dataclass(frozen=True)
class Match:
    """The most probable accepted non-empty string and its probability (0 and "" when
    none)."""

    text: str
    probability: float

    @property
    def matched(self) -> bool:
        return bool(self.text)


def search(probs: np.ndarray, bound: Bound, beam: int = BEAM) -> Match:
    """The most probable string `bound` accepts in one line's (T, C) class probabilities."""
    return search_columns(columns_of(probs, bound), bound, beam)


def columns_of(probs: np.ndarray, bound: Bound) -> np.ndarray:
    """(T, K) float64 probabilities of the bound's columns (the space added to the blank)."""
    columns = np.asarray(probs)[:, bound.classes].astype(np.float64)
    if bound.space is not None:
        columns[:, 0] += probs[:, bound.space]
    return columns


def search_columns(columns: np.ndarray, bound: Bound, beam: int = BEAM) -> Match:
    """`search` over the (T, K) probabilities of the bound's columns (`columns_of`)."""
    rows = columns.tolist()
    likely = _likely(columns)
    beams: dict[tuple[int, ...], list] = {(): [1.0, 0.0, 0]}  # prefix: [pb, pnb, state]
    log_scale = 0.0
    for step, (row, labels) in enumerate(zip(rows, likely)):
        if not labels:
            beams = _wait(beams, row)
            continue
        beams = _prune(_extend(beams, row, labels, bound.rows), beam)
        if step % RESCALE == 0:
            scale = max(pb + pnb for pb, pnb, _ in beams.values()) or 1.0
            beams = {p: [pb / scale, pnb / scale, s] for p, (pb, pnb, s) in beams.items()}
            log_scale += math.log(scale)
    return _best(beams, bound, log_scale)


def _likely(columns: np.ndarray) -> list[list[int]]:
    """Per step, the columns (not the blank) at least CUTOFF likely, at most TOP of them."""
    steps, cols = np.nonzero(columns[:, 1:] >= CUTOFF)
    out: list[list[int]] = [[] for _ in range(len(columns))]
    for step, col in zip(steps.tolist(), (cols + 1).tolist()):
        out[step].append(col)
    for step, labels in enumerate(out):
        if len(labels) > TOP:
            out[step] = sorted(labels, key=columns[step].__getitem__)[-TOP:]
    return out


def _wait(beams: dict, row: list[float]) -> dict:
    """A step where no label is likely: every prefix stays."""
    blank = row[0]
    return {
        prefix: [(pb + pnb) * blank, pnb * row[prefix[-1]] if prefix else 0.0, state]
        for prefix, (pb, pnb, state) in beams.items()
    }


def _extend(beams: dict, row: list[float], labels: list[int], table: list[list[int]]) -> dict:
    """Every prefix stays, or takes one of `labels` its automaton state allows."""
    blank = row[0]
    out: dict[tuple[int, ...], list] = {}
    for prefix, (pb, pnb, state) in beams.items():
        last = prefix[-1] if prefix else 0
        stay = out.get(prefix)
        stay_pb, stay_pnb = (pb + pnb) * blank, pnb * row[last] if last else 0.0
        if stay is None:
            out[prefix] = [stay_pb, stay_pnb, state]
        else:
            stay[0] += stay_pb
            stay[1] += stay_pnb
        moves = table[state]
        for label in labels:
            target = moves[label]
            if target == DEAD:
                continue
            gained = (pb if label == last else pb + pnb) * row[label]
            key = prefix + (label,)
            entry = out.get(key)
            if entry is None:
                out[key] = [0.0, gained, target]
            else:
                entry[1] += gained
    return out


def _prune(beams: dict, width: int) -> dict:
    """The `width` most probable prefixes."""
    if len(beams) <= width:
        return beams
    return dict(heapq.nlargest(width, beams.items(), key=lambda item: item[1][0] + item[1][1]))


def _best(beams: dict, bound: Bound, log_scale: float) -> Match:
    """The most probable non-empty prefix in an accepting state."""
    accepted = [
        (pb + pnb, prefix)
        for prefix, (pb, pnb, state) in beams.items()
        if prefix and bound.finals[state] and pb + pnb > 0
    ]
    if not accepted:
        return Match("", 0.0)
    total, prefix = max(accepted)
    text = "".join(bound.labels[c] for c in prefix)
    return Match(text, math.exp(math.log(total) + log_scale))
