"""The CTC prefix beam search constrained by an automaton, against brute force: every
alignment of small random CTC matrices enumerated, collapsed and summed per string."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textdetector.recognizer.constrain import bind, compile_pattern, search
from textdetector.recognizer.ctc import charset_from_metadata

CHARSET = charset_from_metadata({"character": "A\nB\n1"})  # blank, A, B, 1, space
PATTERNS = ("[AB]1?", "A+1", "(AB|B1)*A?", "1[AB]{1,2}", "[AB ]+1", "B")


def brute_force(probs: np.ndarray, pattern: str) -> tuple[str, float]:
    """The most probable accepted string: all alignments summed per collapsed string."""
    automaton = compile_pattern(pattern)
    totals: dict[str, float] = defaultdict(float)
    for path in itertools.product(range(len(CHARSET)), repeat=len(probs)):
        labels = [c if automaton.spaces or c != len(CHARSET) - 1 else 0 for c in path]
        kept = [c for i, c in enumerate(labels) if c and (i == 0 or c != labels[i - 1])]
        text = "".join(CHARSET[c] for c in kept)
        totals[text] += float(np.prod(probs[np.arange(len(probs)), list(path)]))
    accepted = {t: p for t, p in totals.items() if t and automaton.accepts(t)}
    if not accepted:
        return "", 0.0
    return max(accepted.items(), key=lambda item: item[1])


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(1, 5),
    pattern=st.sampled_from(PATTERNS),
    peaky=st.booleans(),
)
def test_search_finds_the_most_probable_matching_string(seed, steps, pattern, peaky):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(len(CHARSET), 0.3 if peaky else 1.0), steps)
    probs = np.maximum(probs, 1e-3)
    probs /= probs.sum(axis=1, keepdims=True)
    text, probability = brute_force(probs, pattern)
    found = search(probs, bind(compile_pattern(pattern), CHARSET, None), beam=512)
    if text:
        assert found.probability == pytest.approx(probability, rel=1e-6)
        assert found.text == text or found.probability == pytest.approx(probability)
    else:
        assert not found.matched and found.probability == 0.0


def one_hot(*labels: int, p: float = 0.9) -> np.ndarray:
    probs = np.full((len(labels), len(CHARSET)), (1 - p) / (len(CHARSET) - 1))
    probs[np.arange(len(labels)), labels] = p
    return probs


def test_the_constraint_overrides_a_likelier_but_wrong_class():
    probs = one_hot(1, 0, 2)  # A, blank, B ... read "AB"
    probs[2, 3] = 0.3  # the third step could also be "1"
    bound = bind(compile_pattern("A1"), CHARSET, None)
    match = search(probs, bound)
    assert match.text == "A1" and 0 < match.probability < 0.3


def test_repeats_need_a_blank_between():
    bound = bind(compile_pattern("AA"), CHARSET, None)
    assert search(one_hot(1, 1), bound).probability < 0.05  # "A" twice without a blank
    assert search(one_hot(1, 0, 1), bound).text == "AA"


def test_no_matching_string_is_no_match():
    bound = bind(compile_pattern("1{3}"), CHARSET, None)
    match = search(one_hot(1, 2), bound)  # two steps cannot hold three characters
    assert not match.matched and match.text == ""


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 2**32 - 1), pattern=st.sampled_from(PATTERNS))
def test_near_certain_blank_steps_change_nothing_that_matters(seed, pattern):
    """Steps where every label is below CUTOFF are only waited through: the answer and
    its probability stay those of brute force (within the labels left out there)."""
    rng = np.random.default_rng(seed)
    probs = np.maximum(rng.dirichlet(np.ones(len(CHARSET)), 3), 1e-3)
    probs /= probs.sum(axis=1, keepdims=True)
    blank = np.full(len(CHARSET), 1e-5)
    blank[0] = 1 - 1e-5 * (len(CHARSET) - 1)
    probs = np.insert(probs, [1, 3], blank, axis=0)  # 5 steps, two near-certain blanks
    text, probability = brute_force(probs, pattern)
    found = search(probs, bind(compile_pattern(pattern), CHARSET, None), beam=512)
    assert found.text == text or found.probability == pytest.approx(probability, rel=1e-3)
    assert found.probability == pytest.approx(probability, rel=1e-3)
