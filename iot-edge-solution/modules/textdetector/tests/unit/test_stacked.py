"""REC_STACKED: a column of stacked upright letters on a still read as one word. The
geometry on boxes; the reading with the real still_models on rendered vertical signs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from textdetector.commands.detect import read_lines_of
from textdetector.config import RecognizerSettings
from textdetector.errors import ConfigError
from textdetector.recognizer import TextRecognizer
from textdetector.recognizer.stacked import columns

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def stack(n: int, x: float = 100, top: float = 20, size: float = 40, gap: float = 8) -> list:
    return [box(x, top + i * (size + gap), x + size * 0.8, top + i * (size + gap) + size)
            for i in range(n)]  # fmt: skip


def test_a_column_of_letter_boxes_is_one_run_top_to_bottom():
    boxes = np.array(stack(5)[::-1], np.float32)  # given bottom first
    assert columns(boxes) == [[4, 3, 2, 1, 0]]


def test_rows_wide_boxes_far_gaps_and_short_columns_are_not_runs():
    side_by_side = [box(20 + i * 50, 20, 60 + i * 50, 60) for i in range(5)]
    assert columns(np.array(side_by_side, np.float32)) == []
    words = [box(20, 20 + i * 50, 220, 60 + i * 50) for i in range(4)]  # lines of a page
    assert columns(np.array(words, np.float32)) == []
    assert columns(np.array(stack(5, gap=60), np.float32)) == []  # letters too far apart
    assert columns(np.array(stack(2), np.float32)) == []
    shifted = stack(4)
    shifted[2] = box(150, 116, 182, 156)  # one letter off the column's axis breaks it
    assert columns(np.array(shifted, np.float32)) == []


def test_a_tall_box_of_stacked_letters_continues_a_column_by_its_letters_height():
    """`P`, then one tall box read `H A R M A C` (six letters), then `Y`: one run; the
    tall box's letters are as high as the others, though the box is six times higher.
    Counted as one letter it breaks the column."""
    boxes = [box(100, 20, 132, 60), box(100, 66, 132, 66 + 6 * 46 - 6), box(100, 342, 132, 382)]
    assert columns(np.array(boxes, np.float32), [1, 6, 1]) == [[0, 1, 2]]
    assert columns(np.array(boxes, np.float32)) == []


def test_two_columns_and_a_letter_twice_the_height_stay_apart():
    boxes = stack(3, x=50) + stack(3, x=300)
    assert sorted(map(sorted, columns(np.array(boxes, np.float32)))) == [[0, 1, 2], [3, 4, 5]]
    tall_one = stack(3) + [box(100, 164, 132, 264)]
    assert columns(np.array(tall_one, np.float32)) == [[0, 1, 2]]


def sign(text: str, size: int = 60, gap: int = 6) -> np.ndarray:
    """White letters stacked one under the next on a blue board, as a vertical sign."""
    font = ImageFont.truetype(str(FONT), size)
    image = Image.new("RGB", (300, (size + gap) * len(text) + 80), (120, 60, 30))
    draw = ImageDraw.Draw(image)
    for i, letter in enumerate(text):
        width = draw.textlength(letter, font=font)
        draw.text((150 - width / 2, 40 + i * (size + gap)), letter, font=font, fill="white")
    return np.ascontiguousarray(np.array(image)[:, :, ::-1])


@pytest.mark.slow
@pytest.mark.parametrize(("word", "gap"), [("HOTEL", 6), ("PARKING", 6), ("OPEN", 6),
                                         ("PHARMACY", 8), ("BOOKS", 4)])  # fmt: skip
def test_a_vertical_sign_reads_as_its_word_and_letter_by_letter_when_off(still_models, word, gap):
    """Letters are boxed alone or a few together; read alone, `O` reads `0` and a lone
    `I` or `O` falls below the one-character threshold, and a box of several reads them
    apart (`H A R M A C`). Joined, the column reads the word, in one box. (Off, with
    REC_UPRIGHT=off as well: its tall regions read from the sign turned a quarter can
    read the word too, a different rule.)"""
    detector, recognizer = still_models
    image = sign(word, gap=gap)
    assert read_lines_of(detector, recognizer, image) == [word]
    settings = replace(recognizer.settings, rec_stacked="off", rec_upright="off")
    off = TextRecognizer(recognizer.engine, recognizer.classifier, settings)
    apart = read_lines_of(detector, off, image)
    assert word not in apart and len(apart) >= 2  # letters, or two or three read together


@pytest.mark.slow
def test_stacked_digits_and_constrained_reading_never_join(still_models):
    """A column of digits is a table's cells or a scale, not a word; under REC_PATTERN
    the reading is the pattern's, so nothing is joined either."""
    detector, recognizer = still_models
    digits = read_lines_of(detector, recognizer, sign("3572", gap=20))  # boxed one by one
    assert "3572" not in digits and len(digits) >= 3
    patterned = replace(recognizer.settings, rec_pattern="[A-Z]{5}")
    constrained = TextRecognizer(recognizer.engine, recognizer.classifier, patterned)
    assert "HOTEL" not in read_lines_of(detector, constrained, sign("HOTEL"))


def test_rec_stacked_values_are_checked(monkeypatch):
    from textdetector.config import load

    monkeypatch.setenv("REC_STACKED", "on")
    with pytest.raises(ConfigError, match="REC_STACKED"):
        load(RecognizerSettings)
    monkeypatch.setenv("REC_STACKED", "OFF")
    assert load(RecognizerSettings).rec_stacked == "off"


@pytest.mark.slow
def test_gray_and_bgra_signs_read_as_the_colour_one(still_models):
    """A grayscale or BGRA still (what `detect` accepts) joins its column the same way."""
    import cv2

    detector, recognizer = still_models
    image = sign("HOTEL")
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    assert read_lines_of(detector, recognizer, gray) == ["HOTEL"]
    assert read_lines_of(detector, recognizer, bgra) == ["HOTEL"]
