"""ONNX Runtime engine (CPU), tuned as measured: full graph optimisation, arena on."""
from __future__ import annotations

import logging

import numpy as np

from ..config import EngineSettings
from ..errors import EngineUnavailableError, ModelError
from ..model import verify_model

log = logging.getLogger(__name__)


class OnnxRuntimeEngine:
    """Runs the model with an ONNX Runtime InferenceSession."""

    name = "onnxruntime"

    def __init__(self, session) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        self.providers = session.get_providers()

    @classmethod
    def open(cls, settings: EngineSettings,
             providers: list[str] | None = None) -> "OnnxRuntimeEngine":
        try:
            import onnxruntime as ort
        except ImportError:
            raise EngineUnavailableError(
                "ONNX Runtime is not installed: pip install -r requirements.txt") from None
        verify_model(settings.model_path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = True
        options.intra_op_num_threads = settings.threads
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(settings.model_path), sess_options=options,
                                           providers=providers or ["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types per failure
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
            raise ModelError(f"cannot load model {settings.model_path}: {first_line}") from None
        log.debug("onnxruntime %s session on %s", ort.__version__, session.get_providers())
        return cls(session)

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self._session.run([self._output], {self._input: batch})[0]

    def close(self) -> None:
        self._session = None
