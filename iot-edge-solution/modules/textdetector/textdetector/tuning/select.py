"""ENGINE=auto and PRECISION=auto: which CPU engine and precision run the detector.

ENGINE=auto is resolved by `engines.resolve_engine` (TensorRT
when USE_TENSOR_RT=true). PRECISION=auto runs the parity gate on the fixed evaluation
set and keeps the fastest precision that passes, saying which at start-up; the verdict
is cached (tuning/gate_cache.py), so later start-ups on the same CPU skip the gate.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..config import DEFAULT_VIDEO, LOCAL_DATA, EngineSettings
from ..detector.policy import DetPolicy
from ..engines import resolve_engine
from ..engines.base import run_single
from ..engines.openvino_engine import OpenVinoEngine, cpu_supports
from . import gate_cache
from .gate_cache import Verdict, gate_key
from .parity import GateResult, RecognitionCheck, fastest_passing, run_gate
from .samples import evaluation_frames

log = logging.getLogger(__name__)

INT8_CACHE = LOCAL_DATA / "int8"
GATE_CACHE = INT8_CACHE / "gate.json"


def open_openvino(
    settings: EngineSettings,
    precision: str,
    video: Path = DEFAULT_VIDEO,
    limit_side_len: int | DetPolicy = 960,
    shapes: str = "static",
) -> OpenVinoEngine:
    """An OpenVINO engine for the detection model in `precision` (not 'auto').

    Static shapes (a compiled model per input size, LRU of 4) measured faster than dynamic
    shapes (`make bench SECTION=engines`: "OV FP32 static" against "OV FP32" in
    bench-results/bench_engines.json), at the cost of a compile per new size; callers fed
    arbitrary sizes (the HTTP service) pass shapes="dynamic".
    """
    model = settings.model_path
    if precision == "int8":
        from .quantize import quantized_model

        model = quantized_model(settings.model_path, INT8_CACHE, video, limit_side_len)
    return OpenVinoEngine.open(
        model, precision, settings.ov_performance_hint, settings.threads, shapes
    )


def candidate_precisions() -> list[str]:
    """Reduced precisions worth gating on this CPU (BF16 only where it is native)."""
    return [p for p in ("bf16", "int8") if cpu_supports(p)]


def gate_openvino(
    settings: EngineSettings,
    video: Path = DEFAULT_VIDEO,
    recognition: RecognitionCheck | None = None,
    limit_side_len: int | DetPolicy = 960,
) -> dict[str, GateResult]:
    """Gate figures of every candidate precision against OpenVINO FP32."""
    engines = {
        p: open_openvino(settings, p, video, limit_side_len)
        for p in ["fp32"] + candidate_precisions()
    }
    runners: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        p: functools.partial(run_single, e) for p, e in engines.items()
    }
    try:
        reference = runners.pop("fp32")
        return run_gate(
            reference, runners, evaluation_frames(video), recognition, limit_side_len=limit_side_len
        )
    finally:
        for engine in engines.values():
            engine.close()


def choose_precision(
    settings: EngineSettings,
    video: Path = DEFAULT_VIDEO,
    recognition: RecognitionCheck | None = None,
    limit_side_len: int | DetPolicy = 960,
    cache: Path | None = None,
) -> str:
    """PRECISION, with 'auto' resolved by the gate; logs every figure and the choice.

    With `cache`, the verdict is kept there (see gate_cache) and reused while its key
    holds.
    """
    if settings.precision != "auto":
        return settings.precision
    key = (
        gate_key(
            settings.model_path,
            video,
            limit_side_len,
            candidate_precisions(),
            recognition is not None,
        )
        if cache is not None
        else {}
    )
    verdict = gate_cache.load(cache, key) if cache is not None else None
    origin = "cached verdict; delete it to run the gate again"
    if verdict is None:
        results = gate_openvino(settings, video, recognition, limit_side_len)
        verdict = Verdict(fastest_passing(results), tuple(r.summary() for r in results.values()))
        origin = "fastest that passes the FP32 gate"
        if cache is not None:
            gate_cache.save(cache, key, verdict)
    for summary in verdict.summaries:
        log.info("precision gate %s", summary)
    log.info(
        "PRECISION=auto: using %s on this CPU (%s%s)",
        verdict.chosen,
        origin,
        f": {cache}" if cache is not None and "cached" in origin else "",
    )
    return verdict.chosen


def detection_model(
    settings: EngineSettings, limit_side_len: int | DetPolicy = 960, video: Path = DEFAULT_VIDEO
) -> tuple[Path, str]:
    """(model file, precision) for the detector: PRECISION resolved (gated if auto).

    Only OpenVINO runs reduced precisions; INT8 uses the quantized model (made and cached
    on first use, or by `make quantize`).
    """
    if resolve_engine(settings) != "openvino":
        return settings.model_path, settings.precision
    precision = choose_precision(settings, video, limit_side_len=limit_side_len, cache=GATE_CACHE)
    if precision == "int8":
        from .quantize import quantized_model

        return quantized_model(settings.model_path, INT8_CACHE, video, limit_side_len), "int8"
    return settings.model_path, precision
