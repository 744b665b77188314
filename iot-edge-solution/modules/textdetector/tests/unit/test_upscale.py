"""REC_UPSCALE: thin regions of a still read a second time from a larger crop
(recognizer/crop.py `upscale_of`, TextRecognizer `still=True`), on quads built here and
on real photos of the real-scene set with the real models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from recognition_support import detector_and_readers

from textdetector.config import RecognizerSettings, load
from textdetector.errors import ConfigError
from textdetector.recognizer.crop import UPSCALE_MAX, UPSCALE_SIDE, crop_quad, upscale_of

IMAGES = Path(__file__).resolve().parents[2] / "evaluation/real_scenes/images"


def quad(width: float, height: float) -> np.ndarray:
    return np.array([[10, 10], [10 + width, 10], [10 + width, 10 + height], [10, 10 + height]])


def test_only_thin_regions_are_enlarged_and_never_past_the_cap():
    assert upscale_of(quad(120, 12)) == pytest.approx(UPSCALE_SIDE / 12)
    assert upscale_of(quad(12, 120)) == pytest.approx(UPSCALE_SIDE / 12)  # tall: its width
    assert upscale_of(quad(120, UPSCALE_SIDE)) == 1.0
    assert upscale_of(quad(300, 80)) == 1.0
    assert upscale_of(quad(40, 3)) == UPSCALE_MAX
    assert upscale_of(quad(0, 0)) == 1.0  # no pixels: nothing to enlarge


def test_an_enlarged_crop_is_the_region_warped_straight_to_its_size():
    image = np.zeros((60, 200, 3), np.uint8)
    cv2.putText(image, "EDGE", (12, 20), cv2.FONT_HERSHEY_PLAIN, 0.8, (255, 255, 255), 1)
    region = quad(60, 12)
    plain, enlarged = crop_quad(image, region), crop_quad(image, region, upscale_of(region))
    assert plain is not None and enlarged is not None
    assert plain.shape[:2] == (12, 60) and enlarged.shape[:2] == (24, 120)
    # the same picture, sharper than the small crop resized afterwards
    resized = cv2.resize(plain, (120, 24), interpolation=cv2.INTER_LINEAR)
    assert abs(float(enlarged.mean()) - float(resized.mean())) < 8
    assert np.corrcoef(enlarged.ravel(), resized.ravel())[0, 1] > 0.9


def test_settings_turn_it_off(monkeypatch):
    assert RecognizerSettings().rec_upscale == "auto"
    monkeypatch.setenv("REC_UPSCALE", "off")
    assert load(RecognizerSettings).rec_upscale == "off"
    monkeypatch.setenv("REC_UPSCALE", "sometimes")
    with pytest.raises(ConfigError, match="REC_UPSCALE"):
        load(RecognizerSettings)


@pytest.fixture(scope="module")
def readers():
    with detector_and_readers(rec_upscale="off") as found:
        yield found


@pytest.mark.slow
def test_a_thin_word_of_a_real_still_reads_right_only_read_again(readers):
    """A shelf label of the real-scene set (tune split), its box 25 x 6 pixels: read
    once from its small crop it is `1O0D`; cut out again 4x larger, `FOOD`."""
    from textdetector.commands.detect import read_lines_of

    detector, auto, off = readers
    image = cv2.imread(str(IMAGES / "scenetext_segmented_word02.jpg"))
    assert "1O0D" in read_lines_of(detector, off, image)
    lines = read_lines_of(detector, auto, image)
    assert "FOOD" in lines and "1O0D" not in lines


@pytest.mark.slow
def test_video_frames_are_read_once(readers):
    """Without `still` (video frames) REC_UPSCALE=auto reads exactly as off does."""
    detector, auto, off = readers
    image = cv2.imread(str(IMAGES / "scenetext_segmented_word02.jpg"))
    boxes = detector.detect(image)[0].boxes
    frame = auto.recognize_many([(image, boxes)])[0]
    assert frame.texts == off.recognize_many([(image, boxes)])[0].texts
    assert frame.texts != auto.recognize_many([(image, boxes)], still=True)[0].texts
