"""Inference engines behind one interface, imported lazily.

Each engine lives in its own file so that a missing optional dependency (TensorRT,
pycuda) fails only when that engine is chosen, with a clear message.
"""
from __future__ import annotations

from ..config import EngineSettings
from .base import InferenceEngine


def create_engine(settings: EngineSettings) -> InferenceEngine:
    """Open the engine `settings` asks for on the model it names."""
    if settings.use_tensor_rt:
        from .tensorrt_engine import TensorRTEngine

        return TensorRTEngine.open(settings)
    from .onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine.open(settings)


__all__ = ["InferenceEngine", "create_engine"]
