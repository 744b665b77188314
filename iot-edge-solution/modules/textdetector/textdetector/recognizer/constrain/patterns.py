"""REC_PATTERN: a built-in name or a regular expression, compiled to an `Automaton`.

Regular expressions are Python's syntax, the subset a finite automaton can express:
literals, character classes (`[A-Z]`, `\\d`, `\\w`), groups, `|`, `?`, `*`, `+` and
`{m,n}`; the whole reading must match. Spaces are optional unless the pattern writes
one (a space, `\\s`, or a class containing a space).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import interegular
import numpy as np
from interegular.fsm import anything_else

from . import iso6346
from .automaton import DEAD, Automaton

# Built-in patterns: name -> (description, regex or automaton factory).
DATE = (
    r"(0[1-9]|[12][0-9]|3[01])[./-](0[1-9]|1[0-2])[./-](19|20)[0-9]{2}"
    r"|(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
)
BUILTINS: dict[str, tuple[str, str | Callable[[], Automaton]]] = {
    "iso6346": ("container code, check digit verified (CSQU3054383)", iso6346.automaton),
    "date": ("day.month.year (also / or -) or ISO year-month-day", DATE),
    "meter": (
        "meter reading: 1-8 digits, optional . or , and 1-3 decimals",
        r"[0-9]{1,8}([.,][0-9]{1,3})?",
    ),
    "plate": (
        "licence plate: 2-10 capital letters and digits, an optional dash",
        r"[A-Z0-9]{1,5}-?[A-Z0-9]{1,5}",
    ),
}


class PatternError(ValueError):
    """The pattern is not a built-in name nor a regular expression an automaton can express."""


def compile_pattern(pattern: str) -> Automaton:
    """The automaton of a built-in name (case-insensitive) or of a regular expression."""
    builtin = BUILTINS.get(pattern.strip().lower())
    if builtin is not None:
        source = builtin[1]
        automaton = source() if callable(source) else from_regex(source)
        return _named(automaton, pattern.strip().lower())
    if re.fullmatch(r"[a-z][a-z0-9_]*", pattern) and not pattern.isupper():
        raise PatternError(
            f"unknown built-in pattern {pattern!r}: expected one of "
            + ", ".join(BUILTINS)
            + " or a regular expression"
        )
    return from_regex(pattern)


def _named(automaton: Automaton, name: str) -> Automaton:
    return Automaton(name, automaton.table, automaton.finals, automaton.symbol, automaton.spaces)


def from_regex(pattern: str) -> Automaton:
    """The minimal DFA of `pattern` (raises PatternError for invalid or unsupported syntax)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"invalid regular expression {pattern!r}: {exc}") from None
    try:
        fsm = interegular.parse_pattern(pattern).to_fsm().reduce()
    except Exception as exc:  # interegular raises several types for unsupported syntax
        raise PatternError(f"unsupported regular expression {pattern!r}: {exc}") from None
    return _from_fsm(fsm, pattern)


def _from_fsm(fsm, name: str) -> Automaton:
    """interegular's FSM as a table whose start is state 0."""
    states = [fsm.initial] + sorted(s for s in fsm.states if s != fsm.initial)
    number = {state: i for i, state in enumerate(states)}
    symbols = len(fsm.alphabet.by_transition)
    table = np.full((len(states), symbols), DEAD, np.int32)
    for state, moves in fsm.map.items():
        for code, target in moves.items():
            table[number[state], code] = number[target]
    finals = np.zeros(len(states), bool)
    finals[[number[s] for s in fsm.finals]] = True
    alphabet = fsm.alphabet
    other = alphabet[anything_else]

    def symbol(char: str) -> int:
        return alphabet[char] if char in alphabet else other

    spaces = symbol(" ") != other or bool((table[:, other] != DEAD).any())
    return Automaton(name, table, finals, symbol, spaces)
