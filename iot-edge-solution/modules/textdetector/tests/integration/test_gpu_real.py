"""Real GPU tests: TensorRT and ONNX Runtime GPU against ONNX Runtime CPU on demo frames.

They run only where an NVIDIA GPU with TensorRT 10 + pycuda (or onnxruntime-gpu) exists
and are skipped with the reason otherwise, CI included: that is hardware, not a package
set-up can install.
"""

from __future__ import annotations

import dataclasses

import pytest

from textdetector.config import DEFAULT_MODEL, DEFAULT_VIDEO, DetectorSettings, EngineSettings
from textdetector.detector.detector import open_detection_engine
from textdetector.detector.fp16_check import check_frames, compare
from textdetector.engines import run_single
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine

pytestmark = pytest.mark.gpu


def _tensorrt_reason() -> str:
    try:
        import pycuda.driver as cuda
        import tensorrt  # noqa: F401
    except ImportError as exc:
        return f"needs an NVIDIA GPU with TensorRT 10 and pycuda ({exc.name} is not installed)"
    try:
        cuda.init()
        if cuda.Device.count() < 1:
            return "no CUDA GPU found"
    except Exception as exc:  # pycuda's own error types
        return f"no usable CUDA GPU ({exc})"
    return ""


def _ort_cuda_reason() -> str:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "needs onnxruntime-gpu and an NVIDIA GPU (this ONNX Runtime is CPU-only)"
    return ""


@pytest.fixture(scope="module")
def frames():
    return check_frames(DEFAULT_VIDEO, 4)


@pytest.fixture(scope="module")
def cpu():
    engine = OnnxRuntimeEngine.open(DEFAULT_MODEL)
    yield lambda blob: run_single(engine, blob)
    engine.close()


@pytest.mark.skipif(bool(_tensorrt_reason()), reason=_tensorrt_reason() or "ready")
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_tensorrt_boxes_match_onnxruntime_cpu(precision, frames, cpu, tmp_path):
    settings = EngineSettings(use_tensor_rt=True, trt_precision=precision, trt_cache_dir=tmp_path)
    engine = open_detection_engine(settings, DetectorSettings())
    try:
        agreement = compare(cpu, lambda blob: run_single(engine, blob), frames, 960)
        assert " 0 boxes" not in agreement.summary
        assert agreement.score >= (0.99 if engine.precision == "fp32" else 0.95)
    finally:
        engine.close()
    again = open_detection_engine(dataclasses.replace(settings))  # from the cache
    assert again.precision == engine.precision
    again.close()


@pytest.mark.skipif(bool(_ort_cuda_reason()), reason=_ort_cuda_reason() or "ready")
def test_onnxruntime_cuda_boxes_match_cpu(frames, cpu, tmp_path):
    engine = OnnxRuntimeEngine.open(
        DEFAULT_MODEL, EngineSettings(ort_providers="cuda", trt_cache_dir=tmp_path)
    )
    try:
        assert engine.providers[0] == "CUDAExecutionProvider" and engine.fell_back == []
        assert compare(cpu, lambda blob: run_single(engine, blob), frames, 960).score >= 0.99
    finally:
        engine.close()
