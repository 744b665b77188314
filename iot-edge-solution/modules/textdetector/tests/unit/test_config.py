"""Configuration: env parsing, CLI precedence, validation messages."""

from __future__ import annotations

import argparse
import dataclasses
import logging

import pytest

from textdetector.config import (
    DEFAULT_MODEL,
    DetectorSettings,
    EngineSettings,
    SourceSettings,
    add_arguments,
    load,
    load_settings,
    parse_bool,
)
from textdetector.detector.preprocess import HALF, IMAGENET
from textdetector.errors import ConfigError


@pytest.mark.parametrize("raw", ["true", "TRUE", "True", "1", "yes", "YES", " on "])
def test_parse_bool_true(raw):
    assert parse_bool(raw) is True


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "off", ""])
def test_parse_bool_false(raw):
    assert parse_bool(raw) is False


def test_parse_bool_rejects_garbage():
    with pytest.raises(ValueError, match="true/false"):
        parse_bool("maybe")


def test_ppocrv4_policy_matches_paddleocr():
    """DET_MODEL=ppocrv4 is PaddleOCR's predict_det for PP-OCRv4, one setting away."""
    engine = EngineSettings(det_model="ppocrv4")
    assert engine.model_path == DEFAULT_MODEL
    policy = DetectorSettings().policy(engine.model_path)
    assert (
        policy.resize,
        policy.side,
        policy.thresh,
        policy.box_thresh,
        policy.unclip_ratio,
        policy.dilation,
    ) == ("max", 960, 0.3, 0.6, 1.5, False)
    assert policy.norm == IMAGENET
    assert EngineSettings().use_tensor_rt is False


def test_default_detector_is_ppocrv6_with_its_policy():
    engine = EngineSettings()
    assert engine.model_path.name == "PP-OCRv6_det_small.onnx"
    policy = DetectorSettings().policy(engine.model_path)
    assert (policy.resize, policy.side, policy.max_side, policy.norm) == ("min", 736, 1600, HALF)
    assert (policy.box_thresh, policy.unclip_ratio, policy.dilation) == (0.4, 1.6, False)


def test_det_overrides_go_over_the_policy():
    settings = load(
        DetectorSettings, {"DET_BOX_THRESH": "0.7", "DET_RESIZE": "max", "DET_DILATION": "on"}
    )
    policy = settings.policy(EngineSettings().model_path)
    assert (policy.box_thresh, policy.resize, policy.dilation) == (0.7, "max", True)
    assert policy.unclip_ratio == 1.6  # not overridden: the model's own


def test_env_overrides_defaults():
    env = {
        "USE_TENSOR_RT": "Yes",
        "DET_THRESH": "0.25",
        "LOOP": "1",
        "MAX_FRAMES": "7",
        "CAMERA_PATH": "rtsp://cam/stream",
    }
    settings = load_settings(env)
    assert settings.engine.use_tensor_rt is True
    assert settings.detector.det_thresh == 0.25
    assert settings.source.loop is True and settings.source.max_frames == 7
    assert settings.source.camera_path == "rtsp://cam/stream"


def test_empty_env_value_means_default():
    settings = load_settings({"CAMERA_PATH": "", "MODEL_PATH": " ", "DET_THRESH": ""})
    assert settings.engine.model_path == EngineSettings().model_path
    assert settings.source.camera_path == SourceSettings().camera_path


def test_cli_flag_wins_over_env():
    parser = argparse.ArgumentParser()
    add_arguments(parser, DetectorSettings, "detection")
    args = parser.parse_args(["--box-thresh", "0.7"])
    settings = load(DetectorSettings, {"DET_BOX_THRESH": "0.5"}, args)
    assert settings.box_thresh == 0.7


def test_boolean_flag_negation():
    parser = argparse.ArgumentParser()
    add_arguments(parser, SourceSettings, "source")
    args = parser.parse_args(["--no-loop"])
    assert load(SourceSettings, {"LOOP": "true"}, args).loop is False


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DET_THRESH": "1.5"}, "DET_THRESH: expected a number in (0.0, 1.0]"),
        ({"DET_THRESH": "abc"}, "DET_THRESH: expected a number"),
        ({"DET_LIMIT_SIDE_LEN": "16"}, "DET_LIMIT_SIDE_LEN: expected an integer from 32 to 4096"),
        ({"USE_TENSOR_RT": "perhaps"}, "USE_TENSOR_RT: expected true/false"),
        ({"ORT_THREADS": "-1"}, "ORT_THREADS: expected an integer from 0 to 256"),
        ({"DET_ZOOM": "319"}, "DET_ZOOM: expected 0 (off) or an integer from 320 to 8192"),
        ({"DET_ZOOM": "8193"}, "DET_ZOOM: expected an integer from 0 to 8192"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL: expected one of debug, info, warning, error"),
        ({"REC_PADDING": "wide"}, "REC_PADDING: expected one of line, batch"),
    ],
)
def test_invalid_values_name_variable_and_range(env, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert message in str(caught.value)
    assert repr(next(iter(env.values()))) in str(caught.value)


def test_help_mentions_every_variable():
    parser = argparse.ArgumentParser()
    add_arguments(parser, EngineSettings, "engine")
    text = parser.format_help()
    for name in ("MODEL_PATH", "USE_TENSOR_RT", "ORT_THREADS"):
        assert name in text


def test_openvino_hint_auto_follows_the_run_mode():
    from textdetector.pipeline.run import frames_queue

    auto = EngineSettings()
    assert auto.ov_performance_hint == "auto"
    assert auto.for_run(True).ov_performance_hint == "throughput"
    assert auto.for_run(False).ov_performance_hint == "latency"
    assert auto.for_service().ov_performance_hint == "throughput"
    fixed = EngineSettings(ov_performance_hint="latency")
    assert fixed.for_run(True).ov_performance_hint == "latency" and fixed.for_service() is fixed
    assert frames_queue("clip.mp4") and frames_queue("rtsp://cam/1|rtsp://cam/2")
    assert not frames_queue("rtsp://cam/1") and not frames_queue("/dev/video0")


def test_ort_spinning_auto_is_off_only_with_a_live_source():
    from textdetector.pipeline.run import any_live

    auto = EngineSettings()
    assert auto.for_run(True).ort_spinning == "on"
    assert auto.for_run(False, live=True).ort_spinning == "off"
    assert auto.for_run(True, live=True).ort_spinning == "off"  # several cameras
    assert EngineSettings(ort_spinning="on").for_run(False, live=True).ort_spinning == "on"
    assert any_live("clip.mp4|rtsp://cam/1") and not any_live("a.mp4|b.mkv")


def test_use_tensor_rt_is_a_deprecated_alias_of_engine_tensorrt(caplog):
    """USE_TENSOR_RT=true still means ENGINE=tensorrt, with one deprecation warning line."""

    def deprecations(env):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="textdetector.config"):
            settings = load_settings(env)
        return settings, [r for r in caplog.records if "deprecated" in r.getMessage()]

    alias, lines = deprecations({"USE_TENSOR_RT": "true"})
    assert alias.engine.engine_name == "tensorrt"
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "USE_TENSOR_RT" in lines[0].getMessage() and "ENGINE=tensorrt" in lines[0].getMessage()
    for env in ({"ENGINE": "tensorrt"}, {"USE_TENSOR_RT": "false"}, {}):
        assert deprecations(env)[1] == []
    assert deprecations({"ENGINE": "tensorrt"})[0].engine.engine_name == "tensorrt"
    field = {f.name: f for f in dataclasses.fields(EngineSettings)}["use_tensor_rt"]
    assert field.metadata["help"].startswith("deprecated alias of ENGINE=tensorrt")
