"""DET_ASSIST: a second detection model on still images, its boxes added where the first
found none. Real models on real photos of the tuning split."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from textdetector.commands.detect import read_lines_of
from textdetector.config import DetectorSettings, EngineSettings
from textdetector.detector import TextDetector
from textdetector.detector.detector import assist_opener
from textdetector.detector.policy import ASSIST_BELOW, ASSISTS, PADDLE_V4, V6
from textdetector.errors import ConfigError
from textdetector.models import DET_MODELS

IMAGES = Path(__file__).resolve().parents[2] / "evaluation/real_scenes/images"


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(IMAGES / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    return image


@pytest.mark.slow
def test_the_assist_adds_a_line_the_first_model_missed_and_drops_nothing(still_models):
    """bikes_frame068.jpg (640 x 272): PP-OCRv6 alone misses the taxi's roof sign;
    the PP-OCRv4 assist finds it. Every box of the first model stays."""
    detector, recognizer = still_models
    image = photo("bikes_frame068.jpg")
    detector.reconfigure(DetectorSettings(det_assist="off"))
    alone, _ = detector.detect(image)
    alone_lines = read_lines_of(detector, recognizer, image)
    detector.reconfigure(DetectorSettings())
    assisted, _ = detector.detect(image)
    assisted_lines = read_lines_of(detector, recognizer, image)
    assert "TAXI" not in alone_lines and "TAXI" in assisted_lines
    assert set(alone_lines) <= set(assisted_lines)
    assert len(assisted) > len(alone)
    np.testing.assert_array_equal(assisted.boxes[: len(alone)], alone.boxes)


def test_video_frames_get_one_pass_and_never_open_the_assist(still_models):
    """Frames (`detect_batch`, the run loop's call) are detected by the first model only:
    the assist costs stills, not video."""
    detector, _ = still_models
    detector.reconfigure(DetectorSettings())
    fresh = TextDetector(detector.engine, DetectorSettings(), detector.model_path, None)
    image = photo("bikes_frame068.jpg")
    ((batch, _),) = detector.detect_batch([image])
    ((single, _),) = fresh.detect_batch([image])
    np.testing.assert_array_equal(batch.boxes, single.boxes)


def test_paddleocr_exact_v4_and_own_models_have_no_assist():
    """DET_MODEL=ppocrv4 stays PaddleOCR-exact (one pass); a model of one's own gets
    PP-OCRv4's policy, so no assist either; DET_ASSIST overrides both ways."""
    assert V6.assist == "ppocrv4" and PADDLE_V4.assist == "off"
    v4 = EngineSettings(det_model="ppocrv4")
    assert DetectorSettings().policy(v4.model_path).assist == "off"
    assert DetectorSettings().policy(Path("mine.onnx")).assist == "off"
    assert DetectorSettings(det_assist="off").policy(EngineSettings().model_path).assist == "off"
    assert DetectorSettings(det_assist="ppocrv4").policy(v4.model_path).assist == "ppocrv4"
    assert set(ASSISTS) <= set(DET_MODELS)  # an assist opens a DET_MODEL's file
    assert ASSISTS["ppocrv4"].assist == "off"  # an assist has none


def test_det_assist_values_are_checked(monkeypatch):
    from textdetector.config import load

    monkeypatch.setenv("DET_ASSIST", "ppocrv6")
    with pytest.raises(ConfigError, match="DET_ASSIST"):
        load(DetectorSettings)


def test_the_assist_runs_only_on_the_cpu_engines():
    """TensorRT and Triton hold one detection model in their stores: no assist there
    (nothing is opened: the opener is None)."""
    cpu = EngineSettings()
    assert assist_opener(cpu, "dynamic") is not None
    assert assist_opener(replace(cpu, engine="onnxruntime"), "dynamic") is not None
    assert assist_opener(replace(cpu, engine="tensorrt"), "dynamic") is None
    assert assist_opener(replace(cpu, engine="triton"), "dynamic") is None


def test_only_small_stills_get_the_assist_pass(still_models):
    """A still whose short side is under ASSIST_BELOW gets the second model; a 720p frame
    (what the HTTP service is mostly sent) costs what it did: the same boxes as with
    DET_ASSIST=off."""
    assert V6.assist_pass(272, 640) == "ppocrv4" and V6.assist_pass(ASSIST_BELOW - 1, 4000) != "off"
    assert V6.assist_pass(ASSIST_BELOW, 4000) == "off" and V6.assist_pass(720, 1280) == "off"
    assert PADDLE_V4.assist_pass(272, 640) == "off"
    detector, _ = still_models
    frame = cv2.resize(photo("bikes_frame068.jpg"), (1280, 720))
    detector.reconfigure(DetectorSettings(det_assist="off"))
    alone, _ = detector.detect(frame)
    detector.reconfigure(DetectorSettings())
    assisted, _ = detector.detect(frame)
    np.testing.assert_array_equal(assisted.boxes, alone.boxes)
