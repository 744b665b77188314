"""Fuzz target (Hypothesis) for REC_PATTERN's parser: any text either compiles to an
automaton or is refused with PatternError (a readable reason, never another exception),
and a compiled automaton accepts exactly what Python's `re.fullmatch` accepts.

A few seconds in the normal run; `make fuzz` runs it with FUZZ_EXAMPLES examples.
"""

from __future__ import annotations

import re

import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

from textdetector.recognizer.constrain import PatternError, compile_pattern

ALPHABET = "AB1- "
ATOMS = st.sampled_from(["A", "B", "1", "-", " ", "[AB]", "[0-9]", r"\d", "[A-Z]", "."])


@st.composite
def regexes(draw, depth: int = 3) -> str:
    """Small regular expressions of the subset the issue lists."""
    if depth == 0:
        return draw(ATOMS)
    parts = draw(st.lists(st.deferred(lambda: regexes(depth - 1)), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["seq", "alt", "group", "rep"]))
    if kind == "alt":
        return "|".join(parts)
    if kind == "group":
        return "(" + "".join(parts) + ")"
    if kind == "rep":
        low = draw(st.integers(0, 2))
        quantifier = draw(st.sampled_from(["?", "*", "+", f"{{{low},{low + 2}}}", f"{{{low}}}"]))
        return "(" + parts[0] + ")" + quantifier
    return "".join(parts)


@fuzz(200)
@given(st.text(max_size=40))
def test_any_text_compiles_or_is_refused_readably(pattern):
    try:
        automaton = compile_pattern(pattern)
    except PatternError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
    else:
        assert automaton.table.ndim == 2 and automaton.finals.shape == automaton.table.shape[:1]


@fuzz(150)
@given(regexes(), st.lists(st.text(ALPHABET, max_size=6), min_size=1, max_size=8))
@pytest.mark.slow
def test_automaton_agrees_with_python_re(pattern, samples):
    automaton = compile_pattern(pattern)
    for sample in samples:
        if automaton.spaces:  # the pattern writes spaces: they count
            expected = re.fullmatch(pattern, sample) is not None
        else:  # spaces in the reading are ignored
            expected = re.fullmatch(pattern, sample.replace(" ", "")) is not None
        assert automaton.accepts(sample) == expected, (pattern, sample)
