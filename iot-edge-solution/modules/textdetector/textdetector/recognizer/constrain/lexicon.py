"""REC_LEXICON: a file of the words or lines that may be read, as a trie automaton.

Each reading becomes the most probable lexicon entry (the constrained CTC search over
the trie: CTC probability, not edit distance), or stays unknown when that entry's
per-character probability is below REC_LEXICON_MIN_SCORE. Entries match with their
spaces ignored and are reported as written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .automaton import DEAD, Automaton
from .patterns import PatternError

MAX_ENTRIES = 100_000


def read_entries(path: Path) -> list[str]:
    """The file's entries: one per line, trimmed; blank lines and `#` comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PatternError(f"cannot read lexicon {path}: {exc}") from None
    entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not entries:
        raise PatternError(f"lexicon {path} has no entries (one word or line per line)")
    if len(entries) > MAX_ENTRIES:
        raise PatternError(f"lexicon {path} has {len(entries)} entries; at most {MAX_ENTRIES}")
    return entries


def automaton(entries: list[str], name: str) -> tuple[Automaton, dict[str, str]]:
    """The trie of the entries (spaces dropped) and each accepted string's entry."""
    keys = {entry.replace(" ", ""): entry for entry in reversed(entries)}
    symbols = sorted({char for key in keys for char in key})
    index = {char: i for i, char in enumerate(symbols)}
    rows: list[list[int]] = [[DEAD] * len(symbols)]
    finals = [False]
    for key in keys:
        state = 0
        for char in key:
            nxt = rows[state][index[char]]
            if nxt == DEAD:
                nxt = len(rows)
                rows[state][index[char]] = nxt
                rows.append([DEAD] * len(symbols))
                finals.append(False)
            state = nxt
        finals[state] = True
    table = np.array(rows, np.int32).reshape(len(rows), len(symbols))
    return Automaton(name, table, np.array(finals, bool), index.get, spaces=False), keys
