"""TensorRT engine plumbing, exercised with the FAKE tensorrt/pycuda of fake_tensorrt.py.

No GPU or TensorRT exists on the machines these run on, so `tensorrt` and
`pycuda.driver` are replaced by fakes whose "inference" is the real model on ONNX Runtime
CPU. They test the engine's own logic (cache, precision policy, FP16 check, buffer
reuse, release), not TensorRT; tests/integration/test_gpu_real.py runs the real engine on a GPU.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from fake_tensorrt import install

from textdetector.config import DEFAULT_MODEL, DEFAULT_VIDEO, DetectorSettings, EngineSettings
from textdetector.detector.detector import open_detection_engine
from textdetector.detector.fp16_check import check_frames, fp16_check
from textdetector.detector.preprocess import input_size, to_blob
from textdetector.detector.profile import profile_for
from textdetector.engines import run_single
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.tensorrt_engine import TensorRTEngine
from textdetector.engines.trt_profile import ShapeOutOfProfileError
from textdetector.errors import EngineUnavailableError


def create_engine(settings, detector=DetectorSettings()):
    """The detector's engine, as TextDetector.open makes it."""
    return open_detection_engine(settings, detector)


@pytest.fixture
def fakes(monkeypatch):
    return install(monkeypatch)


@pytest.fixture
def settings(tmp_path):
    return EngineSettings(
        use_tensor_rt=True,
        trt_cache_dir=tmp_path / "cache",
        trt_workspace_mb=64,
        det_model="ppocrv4",
    )  # v4: 960 reference


@pytest.fixture(scope="module")
def frame():
    return check_frames(DEFAULT_VIDEO, 3)[1]


def engines(settings):
    return sorted(p.name for p in settings.trt_cache_dir.glob("*.engine"))


@pytest.mark.slow
def test_first_open_checks_fp16_against_fp32_and_caches_both(fakes, settings, frame, caplog):
    trt, cuda = fakes
    caplog.set_level(logging.INFO)
    engine = create_engine(settings, DetectorSettings())
    assert isinstance(engine, TensorRTEngine)
    assert trt.builds == ["fp16", "fp32"]
    assert trt.workspace == [64 << 20, 64 << 20]
    assert engine.precision == "fp16" and "mean box IoU" in engine.precision_note
    assert "can take several minutes" in caplog.text
    names = engines(settings)
    assert len(names) == 2 and any(".fp16." in n for n in names)
    assert all(".sm86." in n and ".trt10.99.0." in n for n in names)
    blob = to_blob(frame, input_size(*frame.shape[:2], 960))
    reference = run_single(OnnxRuntimeEngine.open(DEFAULT_MODEL), blob)
    allocated = cuda.allocations
    for _ in range(3):
        out = run_single(engine, blob)
    assert cuda.allocations == allocated  # buffers made once, reused every frame
    assert out.shape == reference.shape
    assert np.abs(out - reference).max() < 1e-3
    engine.close()
    assert cuda.detached == 1 and cuda.contexts == []
    assert cuda.buffers == {} and cuda.freed == cuda.allocations == 4  # FP32 runner too


@pytest.mark.slow
def test_second_open_loads_the_cache_without_building(fakes, settings):
    trt, _ = fakes
    create_engine(settings).close()
    trt.builds.clear()
    engine = create_engine(settings)
    assert trt.builds == [] and engine.precision == "fp16"
    engine.close()


def test_corrupt_cache_is_rebuilt_with_a_log_line(fakes, settings, caplog):
    trt, _ = fakes
    create_engine(dataclasses.replace(settings, trt_precision="fp32")).close()
    (path,) = settings.trt_cache_dir.glob("*.engine")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    trt.builds.clear()
    caplog.set_level(logging.INFO)
    create_engine(dataclasses.replace(settings, trt_precision="fp32")).close()
    assert "corrupt" in caplog.text and "rebuilding" in caplog.text
    assert trt.builds == ["fp32"]


def test_engine_refused_by_runtime_is_deleted_and_rebuilt(fakes, settings, caplog):
    trt, _ = fakes
    fp32 = dataclasses.replace(settings, trt_precision="fp32")
    create_engine(fp32).close()
    trt.builds.clear()
    trt.refuse_plans = True
    with pytest.raises(EngineUnavailableError, match="could not load the engine it just built"):
        create_engine(fp32)  # the freshly built plan is refused too
    assert "refused the cached engine" in caplog.text
    assert trt.builds == ["fp32"]


@pytest.mark.slow
def test_fp16_that_disagrees_falls_back_to_fp32_and_is_remembered(fakes, settings, caplog):
    trt, _ = fakes
    trt.fp16_damage = True
    engine = create_engine(settings)
    assert engine.precision == "fp32"
    assert "FP16 rejected" in engine.precision_note and "falling back to FP32" in caplog.text
    engine.close()
    trt.builds.clear()
    engine = create_engine(settings)
    assert engine.precision == "fp32" and trt.builds == []
    assert "rejected on this GPU before" in engine.precision_note
    engine.close()


def test_gpu_without_fast_fp16_builds_only_fp32(fakes, settings):
    trt, _ = fakes
    trt.fast_fp16 = False
    engine = create_engine(dataclasses.replace(settings, trt_precision="fp16"))
    assert engine.precision == "fp32" and trt.builds == ["fp32"]
    engine.close()


def test_fp16_check_disabled_or_without_frames(fakes, settings, tmp_path):
    trt, _ = fakes
    engine = create_engine(dataclasses.replace(settings, trt_fp16_min_iou=0.0))
    assert engine.precision == "fp16" and trt.builds == ["fp16"]
    engine.close()
    trt.builds.clear()
    engine = TensorRTEngine.open(
        DEFAULT_MODEL,
        dataclasses.replace(settings, trt_cache_dir=tmp_path / "b"),
        profile_for(960),
        fp16_check(tmp_path / "missing.mp4", 960),
    )
    assert engine.precision == "fp32" and "no check frames" in engine.precision_note
    engine.close()


def test_shapes_outside_the_profile_fail_clearly(fakes, settings):
    engine = create_engine(
        dataclasses.replace(settings, trt_precision="fp32"), DetectorSettings(limit_side_len=640)
    )
    assert engine.profile.max == (1, 3, 640, 640)
    assert run_single(engine, np.zeros((1, 3, 64, 640), np.float32)).shape == (1, 1, 64, 640)
    with pytest.raises(ShapeOutOfProfileError, match="outside the TensorRT profile"):
        run_single(engine, np.zeros((1, 3, 544, 960), np.float32))
    with pytest.raises(ShapeOutOfProfileError):
        run_single(engine, np.zeros((2, 3, 64, 64), np.float32))
    engine.close()
    engine.close()  # idempotent


def test_old_tensorrt_is_refused(fakes, settings):
    trt, _ = fakes
    import sys

    sys.modules["tensorrt"].__version__ = "8.6.2"
    with pytest.raises(EngineUnavailableError, match="too old"):
        create_engine(settings)


def test_missing_tensorrt_gives_one_clear_error(settings):
    """Real: tensorrt/pycuda are not installed here (skipped where they are)."""
    try:
        import pycuda.driver  # noqa: F401
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt and pycuda are installed here")
    except ImportError:
        pass
    with pytest.raises(EngineUnavailableError, match="USE_TENSOR_RT is true but"):
        create_engine(settings)


def test_model_path_default_is_the_pinned_model():
    assert EngineSettings().model_path.name == "PP-OCRv6_det_small.onnx"
    assert EngineSettings(det_model="ppocrv4").model_path == DEFAULT_MODEL
