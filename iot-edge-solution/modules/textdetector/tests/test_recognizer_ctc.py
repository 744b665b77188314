"""CTC greedy decoding and the dictionary read from model metadata (hand-made inputs)."""
from __future__ import annotations

import numpy as np
import pytest

from textdetector.errors import ModelError
from textdetector.recognizer.ctc import charset_from_metadata, greedy_decode

CHARSET = charset_from_metadata({"character": "a\nb\nc"})  # blank, a, b, c, space


def steps(*rows: tuple[int, float]) -> np.ndarray:
    """(1, T, 5) probabilities: each step's best class and its probability."""
    probs = np.zeros((1, len(rows), len(CHARSET)), np.float32)
    for t, (cls, p) in enumerate(rows):
        probs[0, t, :] = (1 - p) / (len(CHARSET) - 1)
        probs[0, t, cls] = p
    return probs


def test_charset_is_blank_symbols_space():
    assert CHARSET == ("", "a", "b", "c", " ")


def test_charset_checks_the_model_width():
    assert len(charset_from_metadata({"character": "a\nb"}, classes=4)) == 4
    with pytest.raises(ModelError, match="2 symbols but the model outputs 7 classes"):
        charset_from_metadata({"character": "a\nb"}, classes=7)


def test_charset_missing_is_a_model_error():
    with pytest.raises(ModelError, match="no 'character' dictionary"):
        charset_from_metadata({})


def test_repeats_collapse_and_blanks_drop():
    probs = steps((1, 0.9), (1, 0.8), (0, 0.99), (1, 0.7), (2, 0.6), (4, 0.5), (3, 0.9))
    [(text, score)] = greedy_decode(probs, CHARSET)
    assert text == "aab c"
    # kept steps: 0 (a), 3 (a), 4 (b), 5 (space), 6 (c); the repeat at step 1 is dropped
    assert score == pytest.approx(np.mean([0.9, 0.7, 0.6, 0.5, 0.9]), abs=1e-6)


def test_all_blank_reads_nothing_with_zero_confidence():
    [(text, score)] = greedy_decode(steps((0, 0.9), (0, 0.8)), CHARSET)
    assert (text, score) == ("", 0.0)


def test_batch_rows_decode_independently():
    probs = np.concatenate([steps((1, 0.9), (2, 0.9)), steps((3, 0.6), (3, 0.8))])
    assert [t for t, _ in greedy_decode(probs, CHARSET)] == ["ab", "c"]
    assert greedy_decode(probs, CHARSET)[1][1] == pytest.approx(0.6)


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r"\(N, T, C\)"):
        greedy_decode(np.zeros((3, 5), np.float32), CHARSET)
