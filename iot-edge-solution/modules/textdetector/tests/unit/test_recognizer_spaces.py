"""REC_SPACES: word spaces put back from the model's space evidence in blank steps."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from recognition_support import CLS_MODEL

from textdetector.config import ConfigError, RecognizerSettings, load
from textdetector.recognizer import TextRecognizer
from textdetector.recognizer.ctc import SPACE_MIN, charset_from_metadata, greedy_decode

CHARSET = charset_from_metadata({"character": "a\nb\nc"})  # blank, a, b, c, space
BLANK, A, B, C, SPACE = range(5)


def steps(*rows: tuple[int, float, float]) -> np.ndarray:
    """(1, T, 5): each step's best class, its probability and the space probability."""
    probs = np.zeros((1, len(rows), len(CHARSET)), np.float32)
    for t, (cls, p, space) in enumerate(rows):
        probs[0, t, cls] = p
        probs[0, t, SPACE] = max(probs[0, t, SPACE], space)
        rest = [i for i in range(len(CHARSET)) if probs[0, t, i] == 0]
        probs[0, t, rest] = (1 - probs[0, t].sum()) / max(len(rest), 1)
    return probs


def decode(probs: np.ndarray, space_min: float | None = SPACE_MIN) -> str:
    return greedy_decode(probs, CHARSET, space_min)[0][0]


def test_space_hinted_in_a_blank_gap_is_put_back():
    probs = steps((A, 0.9, 0), (BLANK, 0.8, 0.15), (BLANK, 0.9, 0.01), (B, 0.9, 0))
    assert decode(probs) == "a b"
    assert decode(probs, None) == "ab"  # plain greedy decoding, as PaddleOCR


def test_faint_space_evidence_and_no_blank_step_add_nothing():
    faint = steps((A, 0.9, 0), (BLANK, 0.9, SPACE_MIN / 2), (B, 0.9, 0))
    assert decode(faint) == "ab"
    # a repeat step of 'a' with space evidence is not a gap between characters
    touching = steps((A, 0.9, 0), (A, 0.6, 0.3), (B, 0.9, 0))
    assert decode(touching) == "ab"


def test_no_double_space_next_to_a_decoded_space():
    probs = steps((A, 0.9, 0), (BLANK, 0.6, 0.3), (SPACE, 0.7, 0.7), (BLANK, 0.6, 0.3), (C, 0.9, 0))
    assert decode(probs) == "a c"


def test_spaces_at_the_ends_or_in_runs_are_tidied_and_spaces_alone_read_nothing():
    """The model picks the space class at a line's ends (a masked bullet, a border) or
    twice in a row: REC_SPACES=auto trims and collapses; plain decoding keeps them."""
    edges = steps((SPACE, 0.9, 0.9), (A, 0.9, 0), (SPACE, 0.8, 0.8), (BLANK, 0.9, 0.0))
    assert decode(edges) == "a" and decode(edges, None) == " a "
    run = steps((A, 0.9, 0), (SPACE, 0.9, 0.9), (BLANK, 0.9, 0.2), (SPACE, 0.9, 0.9), (B, 0.9, 0))
    assert decode(run) == "a b" and decode(run, None) == "a  b"
    only = steps((SPACE, 0.9, 0.9), (BLANK, 0.9, 0.0), (SPACE, 0.9, 0.9))
    assert greedy_decode(only, CHARSET, SPACE_MIN) == [("", 0.0)]
    assert greedy_decode(only, CHARSET)[0][0] == "  "


def test_several_gaps_in_one_line_and_confidence_unchanged():
    probs = steps(
        (A, 0.9, 0),
        (BLANK, 0.9, 0.1),
        (B, 0.8, 0),
        (BLANK, 0.9, 0.001),
        (B, 0.7, 0),
        (BLANK, 0.5, 0.4),
        (C, 0.6, 0),
    )
    [(text, score)] = greedy_decode(probs, CHARSET, SPACE_MIN)
    assert text == "a bb c"
    assert score == pytest.approx(greedy_decode(probs, CHARSET)[0][1])


def test_setting_parses_and_refuses_bad_values():
    assert RecognizerSettings().rec_spaces == "auto"
    assert load(RecognizerSettings, {"REC_SPACES": "OFF"}).rec_spaces == "off"
    with pytest.raises(ConfigError, match="REC_SPACES"):
        load(RecognizerSettings, {"REC_SPACES": "maybe"})


@pytest.mark.slow
def test_real_model_reads_the_word_gaps(rec_model_path, detector, demo_frames, demo_truth):
    """Demo frames on the real PP-OCRv4 models: plain decoding drops word spaces
    ("EDGEVISIONAI"), auto puts them back and reads every line exactly."""
    stack = contextlib.ExitStack()
    readers = {
        mode: stack.enter_context(
            TextRecognizer.open(
                RecognizerSettings(
                    rec_model_path=rec_model_path, cls_model_path=CLS_MODEL, rec_spaces=mode
                )
            )
        )
        for mode in ("off", "auto")
    }
    dropped = 0
    with stack:
        for number in (30, 120, 150):
            image = demo_frames[number]
            truth = sorted(line["text"] for line in demo_truth[number]["lines"])
            boxes = detector.detect(image)[0].boxes
            spaced = readers["auto"].recognize(image, boxes).texts
            plain = readers["off"].recognize(image, boxes).texts
            assert sorted(spaced) == truth
            assert [t.replace(" ", "") for t in plain] == [t.replace(" ", "") for t in spaced]
            dropped += sum(a != b for a, b in zip(plain, spaced))
        assert dropped >= 3
