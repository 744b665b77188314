"""CTC greedy decoding and the dictionary read from model metadata (hand-made inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from textdetector.errors import ModelError
from textdetector.recognizer.ctc import allowed_classes, charset_from_metadata, greedy_decode

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


def test_rec_lang_masks_classes_before_decoding():
    """REC_LANG=en: an accented lookalike never wins over the plain letter (masked, then
    argmax), while 'all' keeps the model's pick."""
    charset = charset_from_metadata({"character": "i\ní\n中\nx"})  # blank i í 中 x space
    probs = np.full((1, 3, len(charset)), 0.01, np.float32)
    probs[0, 0, 2], probs[0, 0, 1] = 0.6, 0.3  # í first, i second
    probs[0, 1, 0] = 0.9  # blank
    probs[0, 2, 3], probs[0, 2, 4] = 0.7, 0.2  # 中 first, x second
    assert greedy_decode(probs, charset)[0][0] == "í中"
    en = allowed_classes(charset, "en")
    assert en.tolist() == [0, 1, 4, 5]
    text, score = greedy_decode(probs[:, :, en], tuple(charset[i] for i in en))[0]
    assert text == "ix" and abs(score - 0.25) < 1e-6
    latin = allowed_classes(charset, "latin")
    assert greedy_decode(probs[:, :, latin], tuple(charset[i] for i in latin))[0][0] == "íx"
    assert allowed_classes(charset, "all") is None
