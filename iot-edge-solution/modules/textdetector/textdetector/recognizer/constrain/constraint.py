"""One line's reading under REC_PATTERN: the constrained text beside the raw one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..spelling import Choices
from . import assembly
from .automaton import bind, can_match
from .beam import Match, columns_of, search_columns
from .extension import incomplete
from .lexicon import automaton as lexicon_automaton
from .lexicon import read_entries
from .patterns import PatternError, compile_pattern


@dataclass(frozen=True)
class Reading:
    """A line's text and score; with a pattern also the unconstrained reading and whether
    the pattern matched (`matched` None: no pattern). A line no string of the pattern
    fits keeps its raw text and score. `columns`: the pattern's classes' probabilities
    per step, kept to search runs of boxes."""

    text: str
    score: float
    raw: str = ""
    raw_score: float = 0.0
    matched: bool | None = None
    columns: np.ndarray | None = field(default=None, repr=False, compare=False)
    choices: Choices | None = field(default=None, repr=False, compare=False)

    @classmethod
    def plain(cls, text: str, score: float) -> Reading:
        """A reading with no pattern."""
        return cls(text, score, text, score, None)

    def kept(self, minimum: float, short: float = 0.0) -> bool:
        """Whether it is reported: the raw reading is confident enough, or the pattern
        matched with a per-character probability (geometric mean) of at least `minimum`.
        With `short` (REC_MIN_SCORE_SHORT) > 0, a reading the pattern did not match is
        dropped when it holds no letter or digit, and needs `short` when it is one
        character (a lone shape reads as "I", "1" or "_")."""
        if self.matched:
            per_char = self.score ** (1 / max(len(self.text), 1))
            return self.raw_score >= minimum or per_char >= minimum
        if short > 0 and not plausible(self.text, self.raw_score, short):
            return False
        return self.raw_score >= minimum


def plausible(text: str, score: float, short: float) -> bool:
    """Whether a reading could be text: a letter or digit in it, and one character
    only with a confidence of at least `short`."""
    if not any(char.isalnum() for char in text):
        return False
    return len(text.strip()) > 1 or score >= short


class Constraint:
    """REC_PATTERN (or REC_LEXICON) bound to a model's dictionary (and REC_ALLOWED_CHARS /
    REC_LANG). `entries` maps a lexicon's accepted strings to the entries as written;
    `min_score`: a match with a lower per-character probability stays unknown."""

    def __init__(
        self,
        pattern: str,
        charset: Sequence[str],
        allowed: np.ndarray | None,
        lexicon: Path | None = None,
        min_score: float = 0.0,
    ) -> None:
        if lexicon is not None:
            self.automaton, self.entries = lexicon_automaton(
                read_entries(lexicon), f"lexicon:{lexicon.name}"
            )
        else:
            self.automaton, self.entries = compile_pattern(pattern), {}
        self.name = self.automaton.name
        self.min_score = min_score
        self.bound = bind(self.automaton, charset, allowed)
        if not can_match(self.bound):
            raise PatternError(
                f"{pattern or lexicon!s} can match nothing the recognition model's "
                "dictionary (within REC_LANG and REC_ALLOWED_CHARS) can read"
            )

    def read(self, probs: np.ndarray, raw: tuple[str, float], steps: int | None = None) -> Reading:
        """The most probable matching string of one line's (T, C) probabilities (the
        first `steps` steps: the rest is the batch's padding)."""
        columns = columns_of(probs[:steps], self.bound)
        return self._reading(search_columns(columns, self.bound), raw, columns)

    def _reading(self, match: Match, raw: tuple[str, float], columns: np.ndarray) -> Reading:
        per_char = match.probability ** (1 / max(len(match.text), 1))
        if not match.matched or per_char < self.min_score:
            return Reading(raw[0], raw[1], raw[0], raw[1], False, columns)
        text = self.entries.get(match.text, match.text)
        return Reading(text, match.probability, raw[0], raw[1], True, columns)

    def incomplete(self, reading: Reading) -> bool:
        """Whether an unmatched reading is a viable beginning of the pattern, worth
        reading again on its box extended along the line."""
        return reading.matched is False and incomplete(self.automaton, reading.raw)

    def join(self, boxes: np.ndarray, readings: list[Reading], minimum: float) -> list[list[int]]:
        """Runs of neighbouring boxes that match together; `readings[run[0]]` becomes the
        run's reading (the others are left as they were)."""
        unmatched = [i for i, r in enumerate(readings) if r.columns is not None and not r.matched]

        def try_run(parts: list[int]) -> bool:
            members = [readings[i] for i in parts]
            columns = [r.columns for r in members if r.columns is not None]  # all: unmatched
            match = search_columns(assembly.join(columns), self.bound)
            raw = " ".join(r.raw for r in members if r.raw)
            raw_score = float(np.mean([r.raw_score for r in members]))
            reading = self._reading(match, (raw, raw_score), columns[0])
            if not reading.matched or not reading.kept(minimum):
                return False
            readings[parts[0]] = reading
            return True

        return assembly.runs(boxes, unmatched, try_run)
