"""ENGINE=auto and PRECISION=auto: which CPU engine and precision run the detector.

ENGINE=auto takes the first engine of `CPU_AUTO_ORDER` that is installed (TensorRT
when USE_TENSOR_RT=true). PRECISION=auto runs the parity gate on the fixed evaluation
set and keeps the fastest precision that passes, saying which at start-up.
"""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import DEFAULT_VIDEO, LOCAL_DATA, EngineSettings
from .openvino_engine import OpenVinoEngine, cpu_supports
from .parity import GateResult, RecognitionCheck, fastest_passing, run_gate
from .samples import evaluation_frames

try:
    from .base import run_single
except ImportError:  # pragma: no cover - removed once base.py carries run_single
    from .tensor_spec import run_single

log = logging.getLogger(__name__)

CPU_AUTO_ORDER = ("onnxruntime", "openvino")  # the default: decided from the benchmarks
INT8_CACHE = LOCAL_DATA / "int8"


def installed(engine: str) -> bool:
    module = {"openvino": "openvino", "onnxruntime": "onnxruntime"}[engine]
    return importlib.util.find_spec(module) is not None


def resolve_engine(settings: EngineSettings) -> str:
    """The concrete engine name for ENGINE (and USE_TENSOR_RT)."""
    name = settings.engine_name
    if name != "auto":
        return name
    return next((e for e in CPU_AUTO_ORDER if installed(e)), "onnxruntime")


def open_openvino(settings: EngineSettings, precision: str, video: Path = DEFAULT_VIDEO,
                  limit_side_len: int = 960, shapes: str = "static") -> OpenVinoEngine:
    """An OpenVINO engine for the detection model in `precision` (not 'auto').

    Static shapes (a compiled model per input size, LRU of 4) measured 10-17 % faster than
    dynamic shapes here, at ~0.4 s per new size; callers fed arbitrary sizes (the HTTP
    service) pass shapes="dynamic".
    """
    model = settings.model_path
    if precision == "int8":
        from .quantize import quantized_model

        model = quantized_model(settings.model_path, INT8_CACHE, video, limit_side_len)
    return OpenVinoEngine.open(model, precision, settings.ov_performance_hint, settings.threads,
                               shapes)


def candidate_precisions() -> list[str]:
    """Reduced precisions worth gating on this CPU (BF16 only where it is native)."""
    return [p for p in ("bf16", "int8") if cpu_supports(p)]


def gate_openvino(settings: EngineSettings, video: Path = DEFAULT_VIDEO,
                  recognition: RecognitionCheck | None = None,
                  limit_side_len: int = 960) -> dict[str, GateResult]:
    """Gate figures of every candidate precision against OpenVINO FP32."""
    engines = {p: open_openvino(settings, p, video, limit_side_len)
               for p in ["fp32"] + candidate_precisions()}
    runners: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        p: (lambda blob, e=e: run_single(e, blob)) for p, e in engines.items()}
    try:
        reference = runners.pop("fp32")
        return run_gate(reference, runners, evaluation_frames(video), recognition,
                        limit_side_len=limit_side_len)
    finally:
        for engine in engines.values():
            engine.close()


def choose_precision(settings: EngineSettings, video: Path = DEFAULT_VIDEO,
                     recognition: RecognitionCheck | None = None,
                     limit_side_len: int = 960) -> str:
    """PRECISION, with 'auto' resolved by the gate; logs every figure and the choice."""
    if settings.precision != "auto":
        return settings.precision
    results = gate_openvino(settings, video, recognition, limit_side_len)
    for result in results.values():
        log.info("precision gate %s", result.summary())
    chosen = fastest_passing(results)
    log.info("PRECISION=auto: using %s on this CPU (fastest that passes the FP32 gate)",
             chosen)
    return chosen


class BatchAdapter:
    """The detector's current `run(batch) -> prob map` call on a named-tensor engine.

    Goes away when the detector calls `run_single` on the new engine interface.
    """

    def __init__(self, engine: OpenVinoEngine) -> None:
        self.engine = engine
        self.name = engine.name

    def run(self, batch: np.ndarray) -> np.ndarray:
        return run_single(self.engine, batch)

    def close(self) -> None:
        self.engine.close()


def open_cpu_engine(settings: EngineSettings, limit_side_len: int = 960) -> BatchAdapter:
    """ENGINE=openvino for the detector: precision chosen (and gated if auto), compiled."""
    precision = choose_precision(settings, limit_side_len=limit_side_len)
    return BatchAdapter(open_openvino(settings, precision, limit_side_len=limit_side_len))
