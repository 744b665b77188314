"""ONNX Runtime engine (CPU, CUDA or TensorRT execution providers), tuned as measured."""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from ..config import EngineSettings
from ..errors import EngineUnavailableError, ModelError
from ..model import verify_model
from .ort_providers import Provider, build_providers, missing_providers, warn_fallback
from .trt_profile import profile_for

log = logging.getLogger(__name__)


class OnnxRuntimeEngine:
    """Runs the model with an ONNX Runtime InferenceSession."""

    name = "onnxruntime"

    def __init__(self, session, fell_back: Sequence[str] = ()) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        self.providers = session.get_providers()
        self.fell_back = list(fell_back)  # requested GPU providers the session lacks

    @classmethod
    def open(cls, settings: EngineSettings,
             providers: Sequence[str | Provider] | None = None,
             limit_side_len: int = 960) -> "OnnxRuntimeEngine":
        """Open a session; `providers` overrides ORT_PROVIDERS (names or (name, options))."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise EngineUnavailableError(
                "ONNX Runtime is not installed: pip install -r requirements.txt") from None
        verify_model(settings.model_path)
        if providers is None:
            requested = build_providers(
                settings.ort_providers, settings.trt_cache_dir,
                profile_for(limit_side_len, settings.trt_max_batch),
                settings.trt_workspace_mb, fp16=settings.trt_precision == "fp16")
        else:
            requested = [p if isinstance(p, tuple) else (p, {}) for p in providers]
        if any(name == "TensorrtExecutionProvider" for name, _ in requested):
            (settings.trt_cache_dir / "ort-trt").mkdir(parents=True, exist_ok=True)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = True
        options.intra_op_num_threads = settings.threads
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(settings.model_path), sess_options=options,
                                           providers=[p for p in requested])
        except Exception as exc:  # ORT raises its own exception types per failure
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
            raise ModelError(f"cannot load model {settings.model_path}: {first_line}") from None
        active = session.get_providers()
        missing = missing_providers(requested, active)
        warn_fallback(missing, active, ort.get_available_providers())
        log.info("onnxruntime %s session on %s", ort.__version__, ", ".join(active))
        return cls(session, missing)

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([self._output], {self._input: batch})[0]

    def close(self) -> None:
        self._session = None
