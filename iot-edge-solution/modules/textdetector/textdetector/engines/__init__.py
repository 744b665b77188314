"""Inference engines behind one interface, imported lazily.

Each engine lives in its own file so that a missing optional dependency (TensorRT,
pycuda, ONNX Runtime GPU) fails only when that engine is chosen, with a clear message.
"""
from __future__ import annotations

from ..config import DetectorSettings, EngineSettings
from ..errors import ConfigError
from .base import InferenceEngine


def create_engine(settings: EngineSettings,
                  detector: DetectorSettings = DetectorSettings()) -> InferenceEngine:
    """Open the engine `settings` asks for; `detector` fixes the input shapes it must take."""
    from .select import resolve_engine

    engine = resolve_engine(settings)
    if engine == "tensorrt":
        from .tensorrt_engine import TensorRTEngine

        return TensorRTEngine.open(settings, detector)
    if engine == "openvino":
        from .select import open_cpu_engine

        return open_cpu_engine(settings, detector.limit_side_len)
    if settings.precision not in ("fp32", "auto"):
        raise ConfigError(f"PRECISION={settings.precision} needs ENGINE=openvino")
    from .onnxruntime_engine import OnnxRuntimeEngine

    return OnnxRuntimeEngine.open(settings, limit_side_len=detector.limit_side_len)


__all__ = ["InferenceEngine", "create_engine"]
