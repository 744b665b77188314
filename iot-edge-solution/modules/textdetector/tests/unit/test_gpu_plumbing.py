"""GPU plumbing that needs no GPU: shape profile, cache keys and files, precision policy,
box agreement, GPU settings. Everything here is real code on real data; no fakes."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from textdetector.config import DEFAULT_MODEL, DEFAULT_TRT_CACHE, EngineSettings, load
from textdetector.detector.fp16_check import check_frames, compare
from textdetector.detector.preprocess import input_size
from textdetector.detector.profile import max_side, profile_for
from textdetector.engines import run_single, trt_cache
from textdetector.engines.precision import choose_precision, fast_fp16_by_capability, has_fast_fp16
from textdetector.engines.trt_profile import ShapeOutOfProfileError
from textdetector.errors import ConfigError
from textdetector.geometry import iou_matrix
from textdetector.geometry import mean_box_iou as mean_xyxy_iou
from textdetector.results import Detections

# --- shape profile -----------------------------------------------------------------------


@hsettings(max_examples=300, deadline=None)
@given(st.integers(1, 8000), st.integers(1, 8000), st.integers(32, 4096))
def test_every_resize_output_lies_inside_the_profile(height, width, limit):
    profile = profile_for(limit)
    h, w = input_size(height, width, limit)
    profile.check((1, 3, h, w))  # raises if outside
    assert h <= max_side(limit) and w <= max_side(limit)


@pytest.mark.parametrize("limit", [32, 100, 640, 960, 976, 1000, 1010, 1920, 4096])
def test_profile_max_is_reached_and_opt_is_a_real_frame(limit):
    profile = profile_for(limit, max_batch=3)
    top = max_side(limit)
    assert input_size(limit, limit, limit) == (top, top)  # a square at the limit hits max
    assert profile.min == (1, 3, 32, 32) and profile.max == (3, 3, top, top)
    assert profile.opt == (1, 3) + input_size(1080, 1920, limit)


def test_profile_for_defaults():
    profile = profile_for(960)
    assert (profile.opt, profile.max) == ((1, 3, 544, 960), (1, 3, 960, 960))
    assert profile.as_dict()["max"] == [1, 3, 960, 960]
    with pytest.raises(ValueError):
        profile_for(0)


@pytest.mark.parametrize(
    "shape",
    [
        (1, 3, 992, 960),
        (2, 3, 64, 64),
        (1, 3, 16, 64),
        (1, 3, 100, 64),
        (1, 1, 64, 64),
        (3, 64, 64),
    ],
)
def test_shapes_outside_the_profile_are_refused_with_a_clear_message(shape):
    with pytest.raises(ShapeOutOfProfileError, match="shape"):
        profile_for(960).check(shape)


# --- cache keys and files ----------------------------------------------------------------


def key(**changes):
    base = trt_cache.CacheKey("ab" * 32, "10.3.0", "8.7", "fp16", profile_for(960).as_dict(), 0.95)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "change",
    [
        {"model_sha256": "cd" * 32},
        {"tensorrt_version": "10.4.0"},
        {"compute_capability": "8.6"},
        {"precision": "fp32"},
        {"profile": profile_for(640).as_dict()},
        {"fp16_min_iou": 0.9},
    ],
)
def test_every_key_field_changes_the_digest_and_file_name(change):
    assert key(**change).digest() != key().digest()
    assert key(**change).file_name("det") != key().file_name("det")


def test_file_name_is_readable():
    name = key().file_name("ch_PP-OCRv4_det_infer")
    assert name.startswith("ch_PP-OCRv4_det_infer.sm87.fp16.trt10.3.0.")
    assert name.endswith(".engine")


def test_cache_round_trip_and_invalidation(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "c" / key().file_name("det")
    assert trt_cache.read(path, key()) is None and "no cached TensorRT engine" in caplog.text
    trt_cache.write(path, key(), b"PLAN" * 100, {"mean_iou": 0.99})
    entry = trt_cache.read(path, key())
    assert entry.payload == b"PLAN" * 100 and entry.meta == {"mean_iou": 0.99}
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind

    caplog.clear()
    assert trt_cache.read(path, key(tensorrt_version="10.4.0")) is None
    assert "stale (built for a different tensorrt_version)" in caplog.text

    for damage, reason in [
        (lambda d: d[:-1], "checksum"),
        (lambda d: b"junk" + d, "not an"),
        (lambda d: d[: len(trt_cache.MAGIC) + 5], "truncated header"),
        (lambda d: trt_cache.MAGIC + b"{oops\n", "unreadable header"),
    ]:
        trt_cache.write(path, key(), b"PLAN" * 100)
        path.write_bytes(damage(path.read_bytes()))
        caplog.clear()
        assert trt_cache.read(path, key()) is None
        assert "corrupt" in caplog.text and reason in caplog.text and "rebuilding" in caplog.text


def test_superseded_engines_are_pruned(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    old, new = key(tensorrt_version="10.0.1"), key()
    other_gpu = key(compute_capability="7.2")
    for k in (old, new, other_gpu):
        trt_cache.write(tmp_path / k.file_name("det"), k, b"x")
    trt_cache.prune_stale(tmp_path / new.file_name("det"), new, "det")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [new.file_name("det"), other_gpu.file_name("det")]
    )
    assert "removing stale TensorRT engine" in caplog.text
    trt_cache.invalidate(tmp_path / new.file_name("det"), "test")
    trt_cache.invalidate(tmp_path / new.file_name("det"), "test")  # already gone: fine
    assert not (tmp_path / new.file_name("det")).exists()


# --- precision policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    "requested,fast,expected",
    [
        ("auto", True, "fp16"),
        ("auto", False, "fp32"),
        ("fp16", True, "fp16"),
        ("fp16", False, "fp32"),
        ("fp32", True, "fp32"),
        ("fp32", False, "fp32"),
    ],
)
def test_choose_precision(requested, fast, expected):
    assert choose_precision(requested, fast)[0] == expected


@pytest.mark.parametrize(
    "cc,fast",
    [
        ((5, 2), False),
        ((5, 3), True),
        ((6, 1), False),
        ((6, 2), True),
        ((7, 2), True),
        ((8, 7), True),
        ((3, 5), False),
        ((9, 0), True),
    ],
)
def test_fast_fp16_table(cc, fast):
    assert fast_fp16_by_capability(*cc) is fast


def test_has_fast_fp16_prefers_the_builder_flag():
    class Old:
        platform_has_fast_fp16 = False

    assert has_fast_fp16(Old(), (8, 6)) is False
    assert has_fast_fp16(object(), (8, 6)) is True  # flag removed: use the table


# --- box agreement -----------------------------------------------------------------------


def dets(*xyxy):
    boxes = np.array(
        [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for x0, y0, x1, y1 in xyxy], np.float32
    ).reshape(-1, 4, 2)
    return Detections(boxes, np.ones(len(boxes), np.float32), (100, 100))


def mean_box_iou(pairs):
    return mean_xyxy_iou([(a.xyxy(), b.xyxy()) for a, b in pairs])


def test_iou_matrix_and_mean_box_iou():
    assert iou_matrix(np.zeros((0, 4)), np.zeros((2, 4))).shape == (0, 2)
    m = iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10]]))
    assert np.allclose(m, [[1.0, 50 / 150]])
    a = dets((0, 0, 10, 10), (20, 20, 30, 30))
    assert mean_box_iou([(a, a)]) == 1.0
    assert mean_box_iou([(dets(), dets())]) == 1.0
    assert mean_box_iou([(a, dets((0, 0, 10, 10)))]) == 0.5  # a missing box counts as 0
    assert mean_box_iou([(dets((0, 0, 10, 10)), a)]) == 0.5  # so does an extra one
    shifted = dets((5, 0, 15, 10), (20, 20, 30, 30))
    assert mean_box_iou([(a, shifted)]) == pytest.approx((50 / 150 + 1) / 2)


@pytest.fixture(scope="module")
def ort_engine():
    from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine

    engine = OnnxRuntimeEngine.open(DEFAULT_MODEL)
    yield lambda blob: run_single(engine, blob)
    engine.close()


@pytest.mark.slow
def test_compare_on_real_frames_with_the_real_model(ort_engine):
    """Real model, real demo frames: identical engines agree, a damaged one does not."""
    frames = check_frames(EngineSettings().model_path.parent / "demo_video.mp4", 3)
    assert len(frames) == 3
    same = compare(ort_engine, ort_engine, frames, 960)
    assert same.score == 1.0 and "on 3 frames" in same.summary
    assert " 0 boxes" not in same.summary
    half = compare(
        ort_engine, lambda b: ort_engine(b).astype(np.float16).astype(np.float32), frames, 960
    )
    assert half.score > 0.95 and half.accepted(0.95)
    damaged = compare(ort_engine, lambda b: ort_engine(b) * 0.5, frames, 960)
    assert damaged.score < 0.5 and not damaged.accepted(0.95)


def test_check_frames_of_a_missing_video(tmp_path):
    assert check_frames(tmp_path / "none.mp4") == []


# --- settings ----------------------------------------------------------------------------


def test_gpu_settings_defaults_and_parsing():
    s = EngineSettings()
    defaults = ("cpu", "auto", 1024, DEFAULT_TRT_CACHE, 0.95, 1)
    assert (
        s.ort_providers,
        s.trt_precision,
        s.trt_workspace_mb,
        s.trt_cache_dir,
        s.trt_fp16_min_iou,
        s.trt_max_batch,
    ) == defaults
    s = load(
        EngineSettings,
        {
            "ORT_PROVIDERS": " TensorRT, cuda,cuda ,",
            "TRT_PRECISION": "FP32",
            "TRT_WORKSPACE_MB": "512",
            "TRT_CACHE_DIR": "engines",
            "TRT_FP16_MIN_IOU": "0.9",
            "TRT_MAX_BATCH": "4",
        },
    )
    assert (
        s.ort_providers,
        s.trt_precision,
        s.trt_workspace_mb,
        str(s.trt_cache_dir),
        s.trt_fp16_min_iou,
        s.trt_max_batch,
    ) == ("tensorrt,cuda", "fp32", 512, "engines", 0.9, 4)


@pytest.mark.parametrize(
    "env,value",
    [
        ("ORT_PROVIDERS", "gpu"),
        ("ORT_PROVIDERS", ",,"),
        ("TRT_PRECISION", "int8"),
        ("TRT_WORKSPACE_MB", "8"),
        ("TRT_FP16_MIN_IOU", "1.5"),
        ("TRT_MAX_BATCH", "0"),
    ],
)
def test_invalid_gpu_settings_name_the_variable(env, value):
    with pytest.raises(ConfigError, match=env):
        load(EngineSettings, {env: value})
