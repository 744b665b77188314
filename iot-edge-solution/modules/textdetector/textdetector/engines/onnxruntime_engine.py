"""ONNX Runtime engine (CPU, CUDA or TensorRT execution providers), tuned as measured."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EngineSettings
from ..errors import EngineUnavailableError, ModelError
from ..models import verify_model
from .base import ORT_TYPES, TensorSpec, dims
from .ort_providers import (
    Provider,
    build_providers,
    missing_providers,
    offered,
    warn_fallback,
)
from .trt_profile import ShapeProfile

log = logging.getLogger(__name__)


def _specs(args: Sequence[Any]) -> tuple[TensorSpec, ...]:
    """ONNX Runtime's NodeArg list (untyped: the package ships no type information)."""
    return tuple(TensorSpec(a.name, dims(a.shape), ORT_TYPES.get(a.type, a.type)) for a in args)


class OnnxRuntimeEngine:
    """Runs a model with an ONNX Runtime InferenceSession."""

    name = "onnxruntime"

    def __init__(self, session, fell_back: Sequence[str] = ()) -> None:
        self._session = session
        self.inputs = _specs(session.get_inputs())
        self.outputs = _specs(session.get_outputs())
        self.metadata: Mapping[str, str] = dict(session.get_modelmeta().custom_metadata_map)
        self.providers = session.get_providers()
        self.fell_back = list(fell_back)  # requested GPU providers the session lacks

    @classmethod
    def open(
        cls,
        model_path: Path,
        settings: EngineSettings = EngineSettings(),
        providers: Sequence[str | Provider] | None = None,
        profile: ShapeProfile | None = None,
    ) -> OnnxRuntimeEngine:
        """Open a session; `providers` overrides ORT_PROVIDERS (names or (name, options)).

        `profile` gives the TensorRT execution provider its explicit input shape range.
        """
        try:
            import onnxruntime as ort
        except ImportError:
            raise EngineUnavailableError(
                "ONNX Runtime is not installed: pip install -r requirements.txt"
            ) from None
        verify_model(model_path)
        requested = cls._requested(settings, providers, profile)
        available = ort.get_available_providers()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = True
        options.intra_op_num_threads = settings.threads
        options.log_severity_level = 3
        if settings.ort_spinning == "off":  # idle threads sleep (ORT_SPINNING)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(model_path),
                sess_options=options,
                providers=offered(requested, available),
            )
        except Exception as exc:  # ORT raises its own exception types per failure
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
            raise ModelError(f"cannot load model {model_path}: {first_line}") from None
        active = session.get_providers()
        missing = missing_providers(requested, active)
        warn_fallback(missing, active, available)
        log.debug(
            "onnxruntime %s session for %s on %s",
            ort.__version__,
            model_path.name,
            ", ".join(active),
        )
        return cls(session, missing)

    @staticmethod
    def _requested(
        settings: EngineSettings,
        providers: Sequence[str | Provider] | None,
        profile: ShapeProfile | None,
    ) -> list[Provider]:
        if providers is not None:
            return [p if isinstance(p, tuple) else (p, {}) for p in providers]
        requested = build_providers(
            settings.ort_providers,
            settings.trt_cache_dir,
            profile,
            settings.trt_workspace_mb,
            fp16=settings.trt_precision == "fp16",
        )
        if any(name == "TensorrtExecutionProvider" for name, _ in requested):
            (settings.trt_cache_dir / "ort-trt").mkdir(parents=True, exist_ok=True)
        return requested

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.outputs]
        try:
            return dict(zip(names, self._session.run(names, dict(feeds))))
        except Exception as exc:  # ORT raises its own types for shape or kernel errors
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise ModelError(f"model failed to run: {first}") from None

    def close(self) -> None:
        self._session = None
