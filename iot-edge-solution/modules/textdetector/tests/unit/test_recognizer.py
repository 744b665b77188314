"""TextRecognizer on the real PP-OCRv4 models: parity with RapidOCR, batching, bad input."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from recognition_support import CLS_MODEL, ORT, full_box, rapid_crops, render_line

from textdetector.config import RecognizerSettings
from textdetector.errors import ModelError
from textdetector.recognizer import TextRecognizer
from textdetector.recognizer.batching import MAX_WIDTH


@pytest.fixture(scope="module")
def scenes(detector, page_image, demo_frames):
    """(image, boxes) of real images: skimage's page and four demo frames."""
    images = [page_image, demo_frames[60], demo_frames[150]]
    return [(image, detector.detect(image)[0].boxes) for image in images]


def test_dictionary_comes_from_the_model(recognizer):
    assert len(recognizer.charset) == 6625
    assert recognizer.charset[0] == "" and recognizer.charset[-1] == " "


@pytest.mark.slow
def test_same_strings_and_scores_as_rapidocr(recognizer, rapid_rec, scenes):
    """Exact parity with RapidOCR's TextRecognizer on its own crops of our boxes."""
    compared = 0
    for image, boxes in scenes:
        theirs, _ = rapid_rec(rapid_crops(image, boxes))
        mine = recognizer.recognize(image, boxes)
        for (text, score), my_text, my_score in zip(theirs, mine.texts, mine.scores):
            assert my_text == (text if score >= 0.5 else "")
            assert my_score == pytest.approx(score, abs=1e-6)
            compared += 1
    assert compared >= 10


@pytest.mark.slow
def test_demo_frame_is_read(recognizer, scenes):
    image, boxes = scenes[1]  # demo frame 60: every line on screen
    texts = set(recognizer.recognize(image, boxes).texts)
    assert "Loading dock 7 - Gate B" in texts and "Inspection due 2026-12-01" in texts


@pytest.mark.slow
def test_many_frames_share_batches(recognizer, scenes):
    """Crops of several frames go through the model together: one call per batch."""
    one_by_one = [recognizer.recognize(image, boxes) for image, boxes in scenes]
    calls = recognizer.calls
    together = recognizer.recognize_many(scenes)
    crops = sum(len(boxes) for _, boxes in scenes)
    assert recognizer.calls - calls == math.ceil(crops / recognizer.settings.rec_batch)
    for image_readings, (_, boxes) in zip(together, scenes):
        assert len(image_readings) == len(boxes)
    # REC_PADDING=batch: the batch width (the widest crop in it) can change a reading
    # slightly, mostly spaces.
    pairs = [(a, b) for x, y in zip(together, one_by_one) for a, b in zip(x.texts, y.texts)]
    assert sum(a.replace(" ", "") == b.replace(" ", "") for a, b in pairs) >= 0.9 * len(pairs)


@pytest.mark.slow
def test_a_line_reads_the_same_whatever_it_is_batched_with(rec_model_path, scenes):
    """REC_PADDING=line (the default): each line keeps its own input width, so reading
    the frames together, one by one or one line at a time gives the same strings and
    scores; lines of one width still share model calls."""
    settings = RecognizerSettings(rec_model_path=rec_model_path, rec_spaces="off")
    assert settings.rec_padding == "line"
    with TextRecognizer.open(settings, ORT) as rec:
        together = rec.recognize_many(scenes)
        calls = rec.calls
        crops = sum(len(boxes) for _, boxes in scenes)
        alone = [
            rec.recognize(image, boxes[i : i + 1])
            for image, boxes in scenes
            for i in range(len(boxes))
        ]
        assert rec.calls - calls == crops  # one call per line read alone
    joined = [(t, s) for r in together for t, s in zip(r.texts, r.scores)]
    single = [(r.texts[0], r.scores[0]) for r in alone]
    assert [t for t, _ in joined] == [t for t, _ in single]
    assert np.allclose([s for _, s in joined], [s for _, s in single], atol=1e-5)
    assert sum(bool(t) for t, _ in joined) >= 10


def test_low_confidence_readings_are_dropped(rec_model_path, scenes):
    image, boxes = scenes[1]
    strict = RecognizerSettings(rec_model_path=rec_model_path, rec_min_score=0.999)
    with TextRecognizer.open(strict) as rec:
        readings = rec.recognize(image, boxes)
    assert readings.read.sum() < len(boxes)
    assert all(text == "" for text, s in zip(readings.texts, readings.scores) if s < 0.999)
    assert readings.scores.dtype == np.float32 and readings.scores.max() > 0.5


def test_empty_and_one_pixel_regions(recognizer):
    image = render_line("HELLO 42")
    boxes = np.concatenate(
        [
            full_box(image),
            np.array(
                [[[5, 5], [5, 5], [5, 5], [5, 5]], [[3, 3], [4, 3], [4, 4], [3, 4]]], np.float32
            ),
        ]
    )
    readings = recognizer.recognize(image, boxes)
    assert readings.texts[0] == "HELLO 42"
    assert readings.texts[1] == "" and readings.scores[1] == 0.0
    assert readings.texts[2] == ""


def test_no_regions(recognizer):
    calls = recognizer.calls
    assert len(recognizer.recognize(render_line("x"), np.zeros((0, 4, 2), np.float32))) == 0
    assert recognizer.recognize_many([]) == []
    assert recognizer.calls == calls


def test_five_thousand_pixel_wide_line(recognizer):
    text = "0123456789 " * 24
    image = render_line(text, height=40, width=5000, size=24)
    assert image.shape[1] == 5000
    readings = recognizer.recognize(image, full_box(image))
    assert readings.texts[0].replace(" ", "").startswith("0123456789")
    assert MAX_WIDTH == 4800  # 5000 x 40 has aspect 125: read squeezed to 4800 wide


def test_region_at_the_frame_edge(recognizer):
    image = np.full((120, 400, 3), 255, np.uint8)
    line = render_line("EDGE 2026")
    image[-48:, -line.shape[1] :] = line
    x0 = 400 - line.shape[1]
    box = np.array([[[x0, 72], [410, 72], [410, 125], [x0, 125]]], np.float32)  # past the edge
    assert recognizer.recognize(image, box).texts == ("EDGE 2026",)


def test_grayscale_and_bgra_images(recognizer):
    image = render_line("GRAY 7")
    box = full_box(image)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    assert recognizer.recognize(gray, box).texts == recognizer.recognize(bgra, box).texts


def test_angle_classifier_turns_upside_down_lines(recognizer, cls_recognizer):
    image = cv2.rotate(render_line("Speed limit 25"), cv2.ROTATE_180)
    turned = cls_recognizer.recognize(image, full_box(image))
    assert turned.texts[0].strip() == "Speed limit 25" and turned.turned[0]
    assert recognizer.recognize(image, full_box(image)).texts[0].strip() != "Speed limit 25"
    assert cls_recognizer.classifier.calls >= 1


def test_corrupt_model_is_one_model_error(rec_model_path, tmp_path: Path):
    broken = tmp_path / "custom_rec.onnx"
    data = bytearray(rec_model_path.read_bytes())
    data[100:4000] = bytes(3900)
    broken.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="cannot load model"):
        TextRecognizer.open(RecognizerSettings(rec_model_path=broken))


def test_pinned_model_with_wrong_bytes_is_refused(rec_model_path, tmp_path: Path):
    pinned = tmp_path / rec_model_path.name
    shutil.copyfile(rec_model_path, pinned)
    with pinned.open("r+b") as handle:
        handle.seek(5000)
        handle.write(b"\x00" * 16)
    with pytest.raises(ModelError, match="checksum mismatch"):
        TextRecognizer.open(RecognizerSettings(rec_model_path=pinned))


def test_model_without_dictionary_is_refused(tmp_path: Path, rec_model_path):
    not_rec = tmp_path / "classifier_as_rec.onnx"
    shutil.copyfile(CLS_MODEL, not_rec)
    with pytest.raises(ModelError):
        TextRecognizer.open(RecognizerSettings(rec_model_path=not_rec))


def test_missing_model(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        TextRecognizer.open(RecognizerSettings(rec_model_path=tmp_path / "none.onnx"))
