"""REC_LEXICON: the trie of the entries, the most probable entry by CTC probability, the
unknown cut-off and the start-up errors (hand-made CTC outputs and files)."""

from __future__ import annotations

import numpy as np
import pytest

from textdetector.config import RecognizerSettings, load
from textdetector.errors import ConfigError
from textdetector.recognizer.constrain import Constraint, PatternError
from textdetector.recognizer.constrain.lexicon import automaton, read_entries
from textdetector.recognizer.ctc import charset_from_metadata

CHARSET = charset_from_metadata({"character": "\n".join("ABCDEGHIKNORSTUXY07")})


def probs_for(text: str, p: float = 0.9, alternatives: dict[int, tuple[str, float]] | None = None):
    """(T, C) outputs reading `text` one character per step, blanks between; at the
    character positions in `alternatives` another character gets the given share."""
    alternatives = alternatives or {}
    rows = []
    for position, char in enumerate(text):
        row = np.full(len(CHARSET), (1 - p) / (len(CHARSET) - 1))
        row[CHARSET.index(char)] = p
        if position in alternatives:
            other, share = alternatives[position]
            row[CHARSET.index(other)] += share
            row[CHARSET.index(char)] -= share
        blank = np.full(len(CHARSET), 0.01 / (len(CHARSET) - 1))
        blank[0] = 0.99
        rows += [row, blank]
    return np.array(rows)


@pytest.fixture
def lexicon(tmp_path):
    path = tmp_path / "gates.txt"
    path.write_text("# gate names\nNORTH GATE\nSOUTH GATE\n\nEXIT\nDOCK 7\n", encoding="utf-8")
    return path


def test_entries_skip_blanks_and_comments(lexicon):
    assert read_entries(lexicon) == ["NORTH GATE", "SOUTH GATE", "EXIT", "DOCK 7"]


def test_trie_accepts_the_entries_without_their_spaces(lexicon):
    trie, keys = automaton(read_entries(lexicon), "gates")
    assert trie.accepts("NORTHGATE") and trie.accepts("NORTH GATE") and trie.accepts("DOCK7")
    assert not trie.accepts("NORTH") and not trie.accepts("EXITS")
    assert keys["DOCK7"] == "DOCK 7"


def test_a_misread_becomes_the_most_probable_entry_as_written(lexicon):
    constraint = Constraint("", CHARSET, None, lexicon, min_score=0.5)
    # "N0RTHGATE": the O read as a zero, the O a close second
    probs = probs_for("N0RTHGATE", alternatives={1: ("O", 0.35)})
    reading = constraint.read(probs, ("N0RTHGATE", 0.9))
    assert (reading.text, reading.raw, reading.matched) == ("NORTH GATE", "N0RTHGATE", True)


def test_below_the_cut_off_the_reading_stays_unknown(lexicon):
    constraint = Constraint("", CHARSET, None, lexicon, min_score=0.5)
    reading = constraint.read(probs_for("SOUTHXY"), ("SOUTHXY", 0.9))
    assert (reading.text, reading.matched) == ("SOUTHXY", False)
    assert constraint.name == "lexicon:gates.txt"


def test_a_lexicon_the_dictionary_cannot_spell_is_refused(tmp_path):
    path = tmp_path / "greek.txt"
    path.write_text("ΑΒΓ\n", encoding="utf-8")
    with pytest.raises(PatternError, match="can match nothing"):
        Constraint("", CHARSET, None, path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read lexicon"),
        ("\n# nothing\n", "has no entries"),
        (b"\xff\xfe", "cannot read"),
    ],
)
def test_missing_or_empty_lexicons_are_config_errors(tmp_path, content, fragment):
    path = tmp_path / "words.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        load(RecognizerSettings, {"REC_LEXICON": str(path)})


def test_pattern_and_lexicon_together_are_refused(lexicon):
    with pytest.raises(ConfigError, match="not both"):
        load(RecognizerSettings, {"REC_LEXICON": str(lexicon), "REC_PATTERN": "iso6346"})
