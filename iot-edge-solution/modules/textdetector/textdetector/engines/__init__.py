"""Inference engines behind one task-independent interface, each imported lazily.

Each engine lives in its own file so that a missing optional dependency (TensorRT,
pycuda, ONNX Runtime GPU) fails only when that engine is chosen, with a clear message.
"""
from __future__ import annotations

from pathlib import Path

from ..config import EngineSettings
from .base import InferenceEngine, TensorSpec, run_single
from .precision import Agreement, PrecisionCheck
from .trt_profile import ShapeProfile


def open_engine(model_path: Path, settings: EngineSettings = EngineSettings(),
                profile: ShapeProfile | None = None,
                fp16_check: PrecisionCheck | None = None) -> InferenceEngine:
    """Open `model_path` on the engine `settings` asks for.

    `profile` is the input shape range (TensorRT builds for it); `fp16_check` is the
    task's test of FP16 against FP32 results (TensorRT keeps FP16 only if it passes).
    """
    if settings.use_tensor_rt:
        from .tensorrt_engine import TensorRTEngine

        if profile is None:
            raise ValueError("TensorRT needs the input shape profile")
        return TensorRTEngine.open(model_path, settings, profile, fp16_check)
    from .onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine.open(model_path, settings, profile=profile)


__all__ = ["InferenceEngine", "TensorSpec", "ShapeProfile", "Agreement", "PrecisionCheck",
           "open_engine", "run_single"]
