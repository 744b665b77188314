"""Inference engines behind one task-independent interface, each imported lazily.

Each engine lives in its own file so that a missing optional dependency (TensorRT,
pycuda, OpenVINO, tritonclient, ONNX Runtime GPU) fails only when that engine is chosen,
with a clear message.
"""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

from ..config import EngineSettings, TritonSettings
from ..errors import ConfigError
from .base import AsyncEngine, InferenceEngine, TensorSpec, run_single, submit
from .precision import Agreement, PrecisionCheck
from .trt_profile import ShapeProfile

# ENGINE=auto on the CPU: OpenVINO, measured faster than ONNX Runtime on x86-64 with
# identical boxes (`make bench SECTION=matrix`, its table bench-results/engines.md); ARM64
# is not measured yet, so it keeps ONNX Runtime.
CPU_AUTO_ORDER = (
    ("openvino", "onnxruntime")
    if platform.machine().lower() in ("x86_64", "amd64")
    else ("onnxruntime",)
)
MODULES = {"openvino": "openvino", "onnxruntime": "onnxruntime"}


def installed(engine: str) -> bool:
    """Whether the engine's package can be imported here."""
    return importlib.util.find_spec(MODULES[engine]) is not None


def resolve_engine(settings: EngineSettings) -> str:
    """The concrete engine for ENGINE (and USE_TENSOR_RT): auto picks the CPU default.

    GPU providers asked of ONNX Runtime (ORT_PROVIDERS) make auto mean ONNX Runtime.
    """
    name = settings.engine_name
    if name != "auto":
        return name
    if settings.ort_providers != "cpu":
        return "onnxruntime"
    return next((e for e in CPU_AUTO_ORDER if installed(e)), "onnxruntime")


def open_engine(
    model_path: Path,
    settings: EngineSettings = EngineSettings(),
    profile: ShapeProfile | None = None,
    fp16_check: PrecisionCheck | None = None,
    precision: str = "fp32",
    triton: TritonSettings | None = None,
    shapes: str = "static",
) -> InferenceEngine:
    """Open `model_path` on the engine `settings` asks for.

    `profile` is the input shape range (TensorRT builds for it); `fp16_check` is the
    task's test of FP16 against FP32 results (TensorRT keeps FP16 only if it passes);
    `precision` (fp32, bf16, or int8 for an already quantized model) and `shapes`
    (static or dynamic) are for OpenVINO; `triton` says where the Triton server is.
    """
    name = resolve_engine(settings)
    if name == "tensorrt":
        from .tensorrt_engine import TensorRTEngine

        if profile is None:
            raise ValueError("TensorRT needs the input shape profile")
        return TensorRTEngine.open(model_path, settings, profile, fp16_check)
    if name == "openvino":
        from .openvino_engine import OpenVinoEngine

        return OpenVinoEngine.open(
            model_path, precision, settings.ov_performance_hint, settings.threads, shapes
        )
    if name == "triton":
        from .triton_engine import TritonEngine

        return TritonEngine.open(model_path, triton or TritonSettings())
    if precision != "fp32":
        raise ConfigError(
            f"PRECISION={precision} needs ENGINE=openvino (ONNX Runtime runs the FP32 models)"
        )
    from .onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine.open(model_path, settings, profile=profile)


__all__ = [
    "AsyncEngine",
    "InferenceEngine",
    "TensorSpec",
    "ShapeProfile",
    "Agreement",
    "PrecisionCheck",
    "CPU_AUTO_ORDER",
    "open_engine",
    "resolve_engine",
    "run_single",
    "submit",
]
