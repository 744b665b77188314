"""Detection policies: the extra pass at native size for small images and its merge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textdetector.detector.policy import PADDLE_V4, V6, merge_passes, policy_for
from textdetector.errors import ConfigError
from textdetector.results import Detections


def quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def dets(*boxes_scores) -> Detections:
    boxes = np.array([quad(*b) for b, _ in boxes_scores], np.float32).reshape(-1, 4, 2)
    return Detections(boxes, np.array([s for _, s in boxes_scores], np.float32), (100, 300))


def test_native_pass_only_for_images_the_policy_raises_twice_or_more():
    assert V6.native_pass(74, 234) == (64, 224)  # a word photo: raised 9.9x
    assert V6.native_pass(480, 640) is None  # 736 / 480 = 1.53
    assert V6.native_pass(720, 1280) is None
    assert PADDLE_V4.native_pass(74, 234) is None  # PaddleOCR's policy: one pass


def test_merge_keeps_the_better_of_overlapping_boxes_and_adds_the_rest():
    upscaled = dets(((10, 10, 60, 40), 0.5), ((70, 10, 120, 40), 0.6))
    native = dets(((8, 8, 122, 42), 0.9), ((200, 50, 260, 80), 0.7))
    merged = merge_passes(upscaled, native)
    kept = [tuple(b[0]) + tuple(b[2]) for b in merged.boxes.tolist()]
    assert kept == [(8, 8, 122, 42), (200, 50, 260, 80)]  # the word, not its fragments
    assert merge_passes(upscaled, Detections.empty((100, 300))) is upscaled
    assert len(merge_passes(Detections.empty((100, 300)), native)) == 2


def test_unknown_model_files_get_paddleocr_v4s_policy():
    class Unset:
        pass

    assert policy_for(None, Unset()) == PADDLE_V4


def test_zoom_pass_only_for_stills_the_policy_raises_when_asked():
    from dataclasses import replace

    class Settings:
        det_zoom = 1280

    zoom = policy_for(Path("PP-OCRv6_det_small.onnx"), Settings())
    assert zoom == replace(V6, zoom=1280)
    assert zoom.input_size(191, 384) == (736, 1472)
    assert zoom.zoom_pass(191, 384) == (1184, 2400)  # short side towards 1280, long capped
    assert zoom.zoom_pass(480, 640) == (1280, 1696)
    assert zoom.zoom_pass(800, 1200) is None  # not raised: one pass as before
    assert V6.zoom_pass(191, 384) is None  # off by default
    assert replace(PADDLE_V4, zoom=1280).zoom_pass(191, 384) is None  # never raises
    assert replace(V6, zoom=736).zoom_pass(480, 640) is None  # no larger than the policy's
    # a TensorRT profile must hold the zoom pass's input
    assert V6.largest_side == 1600 and zoom.largest_side == 2400


def test_frames_cap_the_long_side_over_the_models_rule():
    """DET_FRAME_MAX_SIDE_LEN: a 720p frame goes in as 960 x 544, not 1312 x 736."""
    frames = V6.for_frames(960)
    assert V6.input_size(720, 1280) == (736, 1312)  # a still
    assert frames.input_size(720, 1280) == (544, 960)
    assert frames.input_size(2160, 3840) == (544, 960)
    assert frames.input_size(240, 320) == (704, 960)  # small frames are still raised (3x)
    assert (frames.resize, frames.side, frames.norm) == (V6.resize, V6.side, V6.norm)
    assert V6.for_frames(0) is V6  # 0: frames sized as stills
    assert V6.for_frames(4096).max_side == V6.max_side  # a cap never raises the model's
    assert PADDLE_V4.for_frames(960) == PADDLE_V4  # PaddleOCR's own cap is 960 already
    assert PADDLE_V4.for_frames(640).input_size(720, 1280) == (352, 640)


def test_only_frames_get_the_cap_and_zero_turns_it_off():
    from textdetector.config import DetectorSettings, load

    model = Path("PP-OCRv6_det_small.onnx")
    assert DetectorSettings().policy(model) == V6
    assert DetectorSettings().policy(model, frames=True) == V6.for_frames(960)
    off = load(DetectorSettings, {"DET_FRAME_MAX_SIDE_LEN": "0"})
    assert off.policy(model, frames=True) == V6
    with pytest.raises(ConfigError, match="DET_FRAME_MAX_SIDE_LEN"):
        load(DetectorSettings, {"DET_FRAME_MAX_SIDE_LEN": "100"})
