"""ISO 6346 freight container codes: owner code, category, serial number, check digit.

Four letters (the fourth U, J or Z), six digits, then the check digit: the sum of each
of the first ten characters' value times 2**position, modulo 11, modulo 10. Letters
count from A = 10 upwards, skipping the multiples of 11 (so B = 12, L = 23, V = 34).
The automaton carries the running sum modulo 11, so only codes whose check digit is
right are accepted: a misread that breaks the sum is never the answer.
"""

from __future__ import annotations

import string

import numpy as np

from .automaton import DEAD, Automaton

LETTERS = string.ascii_uppercase
DIGITS = string.digits
SYMBOLS = LETTERS + DIGITS
CATEGORIES = "UJZ"
LENGTH = 11  # characters of a full code


def _letter_values() -> dict[str, int]:
    values, value = {}, 10
    for letter in LETTERS:
        if value % 11 == 0:
            value += 1
        values[letter] = value
        value += 1
    return values


VALUES = {**_letter_values(), **{d: int(d) for d in DIGITS}}


def check_digit(code: str) -> int:
    """The check digit of the first ten characters of `code` (e.g. 'CSQU305438' -> 3)."""
    total = sum(VALUES[char] * 2**position for position, char in enumerate(code[:10]))
    return total % 11 % 10


def is_valid(code: str) -> bool:
    """Whether `code` is a well-formed ISO 6346 code with the right check digit."""
    return (
        len(code) == LENGTH
        and all(c in LETTERS for c in code[:3])
        and code[3] in CATEGORIES
        and code[4:].isdigit()
        and code.isascii()
        and int(code[10]) == check_digit(code)
    )


def _allowed(position: int) -> str:
    return LETTERS if position < 3 else CATEGORIES if position == 3 else DIGITS


def automaton() -> Automaton:
    """States (position, running sum mod 11) for positions 0..10, then one accepting state."""
    final = LENGTH * 11  # after the check digit
    table = np.full((final + 1, len(SYMBOLS)), DEAD, np.int32)
    for position in range(LENGTH):
        for total in range(11):
            state = position * 11 + total
            for char in _allowed(position) if position < 10 else DIGITS:
                symbol = SYMBOLS.index(char)
                if position == 10:
                    if int(char) == total % 10:
                        table[state, symbol] = final
                    continue
                table[state, symbol] = (position + 1) * 11 + (
                    total + VALUES[char] * 2**position
                ) % 11
    finals = np.zeros(final + 1, bool)
    finals[final] = True
    index = {char: i for i, char in enumerate(SYMBOLS)}
    return Automaton("iso6346", table, finals, index.get, spaces=False)
