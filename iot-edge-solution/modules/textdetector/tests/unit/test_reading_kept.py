"""REC_MIN_SCORE_SHORT: lone shapes read as one character or as punctuation are dropped."""

from __future__ import annotations

import cv2
import pytest

from textdetector.config import ConfigError, DetectorSettings, EngineSettings, RecognizerSettings
from textdetector.config import load as load_settings
from textdetector.recognizer.constrain.constraint import Reading, plausible


@pytest.mark.parametrize(
    ("text", "score", "kept"),
    [
        ("A", 0.95, True),
        ("7", 0.74, False),  # one character below REC_MIN_SCORE_SHORT
        ("7", 0.75, True),
        (" 7 ", 0.70, False),  # spaces do not make it longer
        ("_", 0.99, False),  # no letter or digit
        ("***", 0.91, False),
        (". .", 0.68, False),
        ("7A", 0.55, True),  # two characters: REC_MIN_SCORE alone
        ("é", 0.80, True),  # accented letters count as letters
        ("", 0.0, False),
    ],
)
def test_short_and_symbol_only_readings(text, score, kept):
    assert plausible(text, score, 0.75) is kept
    assert Reading.plain(text, score).kept(0.5, 0.75) is (kept and score >= 0.5)


def test_off_and_pattern_matches_follow_rec_min_score_alone():
    assert Reading.plain("_", 0.6).kept(0.5, 0.0)  # REC_MIN_SCORE_SHORT=0: PaddleOCR's rule
    assert not Reading.plain("_", 0.4).kept(0.5, 0.0)
    matched = Reading("7", 0.6, "7", 0.6, matched=True)
    assert matched.kept(0.5, 0.75)  # REC_PATTERN asked for a digit: not second-guessed
    unmatched = Reading("7", 0.6, "7", 0.6, matched=False)
    assert not unmatched.kept(0.5, 0.75)


def test_setting_default_and_bad_values():
    assert RecognizerSettings().rec_min_score_short == 0.75
    assert load_settings(RecognizerSettings, {"REC_MIN_SCORE_SHORT": "0"}).rec_min_score_short == 0
    with pytest.raises(ConfigError, match="REC_MIN_SCORE_SHORT"):
        load_settings(RecognizerSettings, {"REC_MIN_SCORE_SHORT": "1.5"})


@pytest.mark.slow
def test_real_demo_frames_lose_only_lone_shapes(demo_video, model_path):
    """The default detector and recogniser on demo frames where background shapes read
    as "1": with the rule they read nothing, every other reading is unchanged."""
    from textdetector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer

    capture = cv2.VideoCapture(str(demo_video))
    frames = [capture.read()[1] for _ in range(12)]
    capture.release()
    dropped = 0
    with (
        TextDetector.open(EngineSettings(), DetectorSettings()) as detector,
        TextRecognizer.open(RecognizerSettings(rec_min_score_short=0.0)) as everything,
        TextRecognizer.open(RecognizerSettings()) as default,
    ):
        for number in (1, 11):
            boxes = detector.detect(frames[number])[0].boxes
            before = everything.recognize(frames[number], boxes)
            after = default.recognize(frames[number], boxes)
            for old, new, score in zip(before.texts, after.texts, before.scores):
                if old != new:
                    assert new == "" and not plausible(old, float(score), 0.75)
                    dropped += 1
    assert dropped >= 1
