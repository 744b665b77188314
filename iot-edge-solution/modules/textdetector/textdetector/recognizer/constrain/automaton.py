"""Deterministic automata over characters, and their binding to a model's CTC classes.

A pattern (a regular expression, or a built-in such as `iso6346`) becomes an `Automaton`:
states 0..S-1 (0 the start), a transition table over symbol ids, the accepting states,
and a function giving each character's symbol id (None: the character never occurs).
`bind` turns it into a `Bound` table over the model's class indices, keeping only the
classes the pattern can use, so decoding works on a handful of columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

DEAD = -1


@dataclass(frozen=True)
class Automaton:
    """A DFA: `table[state, symbol]` is the next state or DEAD; `finals[state]` accepts."""

    name: str
    table: np.ndarray  # (S, symbols) int32
    finals: np.ndarray  # (S,) bool
    symbol: Callable[[str], int | None]
    spaces: bool  # the pattern writes spaces; else spaces in a reading are ignored

    def accepts(self, text: str) -> bool:
        """Whether the whole `text` is matched (spaces dropped unless the pattern has them)."""
        state = 0
        for char in text if self.spaces else text.replace(" ", ""):
            symbol = self.symbol(char)
            if symbol is None:
                return False
            state = int(self.table[state, symbol])
            if state == DEAD:
                return False
        return bool(self.finals[state])


@dataclass(frozen=True)
class Bound:
    """An automaton over a model's classes: column j of `table` is class `classes[j]`.

    `classes[0]` is the blank (0); no state moves on it. Without written spaces the
    model's space class is left out: its probability is added to the blank's.
    """

    automaton: Automaton
    classes: np.ndarray  # (K,) int64 model class indices, blank first
    labels: tuple[str, ...]  # the character of each column ("" for the blank)
    table: np.ndarray  # (S, K) int32
    space: int | None  # model class index of the space, merged into the blank

    @property
    def finals(self) -> np.ndarray:
        return self.automaton.finals

    @cached_property
    def rows(self) -> list[list[int]]:
        """`table` as lists: the search reads single entries, faster from Python lists."""
        return self.table.tolist()


def bind(automaton: Automaton, charset: Sequence[str], allowed: np.ndarray | None) -> Bound:
    """The automaton over the model classes in `charset` (blank first, space last) that
    `allowed` (None: all) lets the decoder pick and the automaton can move on."""
    pickable = range(len(charset)) if allowed is None else (int(i) for i in allowed)
    space = len(charset) - 1
    columns, symbols = [0], [DEAD]
    moves = (automaton.table != DEAD).any(axis=0)
    for index in pickable:
        if index == 0 or (index == space and not automaton.spaces):
            continue
        symbol = automaton.symbol(charset[index])
        if symbol is not None and moves[symbol]:
            columns.append(index)
            symbols.append(symbol)
    sym = np.asarray(symbols, np.int64)
    table = np.full((automaton.table.shape[0], len(columns)), DEAD, np.int32)
    table[:, 1:] = automaton.table[:, sym[1:]]
    labels = tuple(charset[i] if i else "" for i in columns)
    return Bound(
        automaton,
        np.asarray(columns, np.int64),
        labels,
        table,
        None if automaton.spaces else space,
    )


def can_match(bound: Bound) -> bool:
    """Whether some non-empty string of the bound classes reaches an accepting state."""
    seen = {0}
    frontier = [0]
    while frontier:
        state = frontier.pop()
        for nxt in bound.table[state, 1:]:
            if nxt != DEAD and bound.finals[nxt]:
                return True
            if nxt != DEAD and int(nxt) not in seen:
                seen.add(int(nxt))
                frontier.append(int(nxt))
    return False
