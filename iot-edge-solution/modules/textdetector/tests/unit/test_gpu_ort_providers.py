"""ONNX Runtime providers: parsing into provider lists, and the loud CPU fallback.

The fallback test is real: this ONNX Runtime build has only the CPU provider, so asking
for CUDA or TensorRT must warn and still run the model on the CPU.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from textdetector.config import DEFAULT_MODEL, EngineSettings
from textdetector.detector.profile import profile_for
from textdetector.engines import run_single
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.ort_providers import (
    CPU,
    CUDA,
    TENSORRT,
    build_providers,
    missing_providers,
    offered,
)

MODULE = Path(__file__).resolve().parents[2]


def test_the_session_is_given_only_the_providers_the_build_has():
    requested = [(TENSORRT, {"trt_fp16_enable": True}), (CUDA, {}), (CPU, {})]
    assert offered(requested, [CPU]) == [(CPU, {})]
    assert offered(requested, [CUDA, CPU]) == [(CUDA, {}), (CPU, {})]
    assert offered(requested, [TENSORRT, CUDA, CPU]) == requested
    assert offered([(CUDA, {})], [CPU]) == [(CPU, {})]  # CPU stays the last resort


def test_build_providers_orders_and_ends_with_cpu(tmp_path):
    profile = profile_for(960)
    providers = build_providers("tensorrt,cuda", tmp_path, profile, 256, fp16=False)
    assert [name for name, _ in providers] == [TENSORRT, CUDA, CPU]
    options = providers[0][1]
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_engine_cache_path"] == str(tmp_path / "ort-trt")
    assert options["trt_timing_cache_path"] == str(tmp_path / "ort-trt")
    assert options["trt_max_workspace_size"] == 256 << 20
    assert options["trt_fp16_enable"] is False
    assert options["trt_profile_min_shapes"] == "x:1x3x32x32"
    assert options["trt_profile_opt_shapes"] == "x:1x3x544x960"
    assert options["trt_profile_max_shapes"] == "x:1x3x960x960"
    assert [n for n, _ in build_providers("cpu,cuda", tmp_path, profile, 1, True)] == [CUDA, CPU]
    assert [n for n, _ in build_providers("cpu", tmp_path, profile, 1, True)] == [CPU]
    with pytest.raises(ValueError):
        build_providers("rocm", tmp_path, profile, 1, True)


def test_missing_providers():
    requested = [(TENSORRT, {}), (CUDA, {}), (CPU, {})]
    assert missing_providers(requested, [CUDA, CPU]) == [TENSORRT]
    assert missing_providers(requested, [TENSORRT, CUDA, CPU]) == []


@pytest.mark.skipif(
    CUDA in ort.get_available_providers(),
    reason="this ONNX Runtime has the CUDA provider: no fallback to observe",
)
def test_asking_for_cuda_on_a_cpu_build_warns_loudly_and_runs_on_cpu(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    settings = EngineSettings(ort_providers="tensorrt,cuda", trt_cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ONNX Runtime's own UserWarning would be a second line
        engine = OnnxRuntimeEngine.open(DEFAULT_MODEL, settings)
    assert engine.providers == [CPU]
    assert engine.fell_back == [TENSORRT, CUDA]
    assert "could not use TensorrtExecutionProvider, CUDAExecutionProvider" in caplog.text
    assert "running on CPUExecutionProvider" in caplog.text
    out = run_single(engine, np.zeros((1, 3, 64, 96), np.float32))
    assert out.shape == (1, 1, 64, 96)


def test_cpu_only_request_is_silent(caplog):
    caplog.set_level(logging.WARNING)
    engine = OnnxRuntimeEngine.open(DEFAULT_MODEL)
    assert engine.providers == [CPU] and engine.fell_back == []
    assert "could not use" not in caplog.text


@pytest.mark.slow
def test_cli_with_cuda_provider_still_detects_and_warns(tmp_path):
    """The real CLI on a real image: the warning reaches the user, detection still works."""
    frame = tmp_path / "frame.png"
    import cv2

    from textdetector.detector.fp16_check import check_frames

    cv2.imwrite(str(frame), check_frames(MODULE / "local_data" / "demo_video.mp4", 3)[1])
    done = subprocess.run(
        [
            sys.executable,
            "main.py",
            "detect",
            str(frame),
            "--json",
            "--ort-providers",
            "cuda",
            "--trt-cache-dir",
            str(tmp_path / "c"),
        ],
        cwd=MODULE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if CUDA in ort.get_available_providers():
        pytest.skip("this ONNX Runtime has the CUDA provider")
    assert done.returncode == 0, done.stderr
    assert "could not use CUDAExecutionProvider" in done.stderr
    assert "UserWarning" not in done.stderr  # one readable line, not ONNX Runtime's as well
    assert '"count"' in done.stdout


def test_cli_tensor_rt_without_tensorrt_exits_5_with_one_line():
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    done = subprocess.run(
        [sys.executable, "main.py", "--use-tensor-rt", "--max-frames", "1"],
        cwd=MODULE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 5
    assert "USE_TENSOR_RT is true but" in done.stderr and "Traceback" not in done.stderr
