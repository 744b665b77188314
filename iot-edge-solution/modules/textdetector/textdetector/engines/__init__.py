"""Inference engines behind one interface, imported lazily.

Each engine lives in its own file so that a missing optional dependency (TensorRT,
pycuda, ONNX Runtime GPU) fails only when that engine is chosen, with a clear message.
"""
from __future__ import annotations

from ..config import DetectorSettings, EngineSettings
from .base import InferenceEngine


def create_engine(settings: EngineSettings,
                  detector: DetectorSettings = DetectorSettings()) -> InferenceEngine:
    """Open the engine `settings` asks for; `detector` fixes the input shapes it must take."""
    if settings.use_tensor_rt:
        from .tensorrt_engine import TensorRTEngine

        return TensorRTEngine.open(settings, detector)
    from .onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine.open(settings, limit_side_len=detector.limit_side_len)


__all__ = ["InferenceEngine", "create_engine"]
