"""OpenVINO engine (CPU): compiled once, explicit precision, synchronous and async runs.

`run(feeds)` is synchronous. `start(feeds)` submits an inference and returns at once;
`wait(handle)` returns its outputs, so a loop can submit frame N+1 before it
post-processes frame N (the inference runs on OpenVINO's own threads meanwhile).

Shapes: `shapes="dynamic"` compiles the model once with its dynamic dimensions;
`shapes="static"` keeps a small LRU of models reshaped and compiled per input shape.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineUnavailableError, ModelError
from ..models import verify_model
from .base import TensorSpec

log = logging.getLogger(__name__)

PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}  # int8: quantized model
# "auto" is resolved by run mode (`EngineSettings.for_service`: THROUGHPUT for the HTTP
# service); an engine opened with it elsewhere serves one stream of frames: LATENCY.
PERFORMANCE_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT", "auto": "LATENCY"}
SHAPE_MODES = ("dynamic", "static")
INSTALL_HINT = (
    "OpenVINO is not installed: pip install openvino "
    "(pinned in requirements.txt) or choose ENGINE=onnxruntime"
)


def import_openvino() -> Any:
    """The `openvino` module, or `EngineUnavailableError` with the install hint."""
    try:
        import openvino
    except ImportError:
        raise EngineUnavailableError(INSTALL_HINT) from None
    return openvino


def cpu_supports(precision: str) -> bool:
    """Whether OpenVINO's CPU plugin runs `precision` natively on this CPU."""
    if precision in ("fp32", "int8"):
        return True
    ov = import_openvino()
    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return precision.upper() in {str(c).upper() for c in capabilities}


def is_quantized(model: Any) -> bool:
    """Whether the model carries INT8 quantization (NNCF FakeQuantize or QDQ nodes)."""
    kinds = {"FakeQuantize", "FakeConvert"}
    return any(op.get_type_name() in kinds for op in model.get_ops())


def _spec(port: Any) -> TensorSpec:
    shape = tuple(None if d.is_dynamic else d.get_length() for d in port.get_partial_shape())
    dtype = np.dtype(port.get_element_type().to_dtype()).name
    return TensorSpec(port.get_any_name(), shape, dtype)


def model_metadata(model: Any) -> dict[str, str]:
    """The ONNX custom metadata map OpenVINO keeps in the model's rt_info 'framework'."""
    info = model.get_rt_info()
    if "framework" not in info:
        return {}
    framework = info["framework"]
    framework = framework.value if hasattr(framework, "value") else framework
    return {
        str(k): v.astype(str) if hasattr(v, "astype") else str(v)
        for k, v in dict(framework).items()
    }


@dataclass
class Pending:
    """An inference in flight: returned by `start`, consumed by `wait`."""

    request: Any
    feeds: dict[str, np.ndarray]  # kept alive: OpenVINO may read them until done
    done: bool = field(default=False)
    latency_ms: float | None = None  # the request's own inference time, once done


def optimal_requests(compiled: Any) -> int:
    """Infer requests OpenVINO wants in flight for this compiled model (its streams)."""
    try:
        return max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    except (RuntimeError, TypeError, ValueError):
        return 1


class _Compiled:
    """One compiled model with a pool of infer requests handed out round-robin.

    The pool starts with at least `requests` and at least OpenVINO's optimal number, so
    every stream a THROUGHPUT hint creates can be kept busy. When every request is in
    flight, `take` makes one more instead of waiting: threads sharing the engine that each
    keep one inference in flight while starting the next (`pipelined`) never wait on each
    other. The pool only grows to the most inferences ever in flight at once.
    """

    def __init__(self, compiled: Any, requests: int) -> None:
        self.compiled = compiled
        self.optimal = optimal_requests(compiled)
        self.free = [compiled.create_infer_request() for _ in range(max(requests, self.optimal))]
        self.size = len(self.free)
        self.lock = threading.Lock()

    def take(self) -> Any:
        with self.lock:
            if self.free:
                return self.free.pop()
            self.size += 1
        return self.compiled.create_infer_request()

    def give(self, request: Any) -> None:
        with self.lock:
            self.free.append(request)


class OpenVinoEngine:
    """Runs an ONNX (or OpenVINO IR) model with OpenVINO on the CPU."""

    name = "openvino"

    def __init__(
        self,
        core: Any,
        model: Any,
        config: dict[str, str],
        shapes: str,
        cache_size: int,
        requests: int,
    ) -> None:
        self._core, self._model, self._config = core, model, config
        self._shapes, self._cache_size, self._requests = shapes, cache_size, requests
        self.inputs = tuple(_spec(p) for p in model.inputs)
        self.outputs = tuple(_spec(p) for p in model.outputs)
        self.metadata: Mapping[str, str] = model_metadata(model)
        self._cache: OrderedDict[tuple, _Compiled] = OrderedDict()
        self._lock = threading.Lock()
        if shapes == "dynamic":
            self._cache[()] = self._compile(model)
        first = next(iter(self._cache.values()), None)
        self.performance_hint = self._config["PERFORMANCE_HINT"]  # LATENCY / THROUGHPUT
        self.precision = self._config["INFERENCE_PRECISION_HINT"]  # as compiled: f32 / bf16
        if first is not None:
            self.precision = first.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()

    @classmethod
    def open(
        cls,
        model_path: Path,
        precision: str = "fp32",
        hint: str = "latency",
        threads: int = 0,
        shapes: str = "dynamic",
        cache_size: int = 4,
        requests: int = 2,
    ) -> OpenVinoEngine:
        """Read and compile `model_path` (.onnx or .xml IR).

        `precision` fp32|bf16|int8 sets INFERENCE_PRECISION_HINT explicitly (int8 means
        the file is already quantized; its float parts run in f32). `hint` latency|throughput
        sets PERFORMANCE_HINT (auto: latency); at least `requests` infer requests (and
        OpenVINO's optimal number) allow that many runs in flight.
        """
        ov = import_openvino()
        if precision not in PRECISION_HINTS:
            raise ValueError(f"unknown precision {precision!r}: expected fp32, bf16 or int8")
        if hint not in PERFORMANCE_HINTS:
            raise ValueError(
                f"unknown performance hint {hint!r}: expected latency, throughput or auto"
            )
        if shapes not in SHAPE_MODES:
            raise ValueError(f"unknown shape mode {shapes!r}: expected dynamic or static")
        if precision == "bf16" and not cpu_supports("bf16"):
            raise EngineUnavailableError(
                "PRECISION=bf16 but this CPU has no native BF16 (OpenVINO would silently run FP32)"
            )
        verify_model(Path(model_path))
        core = ov.Core()
        try:
            model = core.read_model(str(model_path))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise ModelError(f"cannot load model {model_path}: {first}") from None
        if precision == "int8" and not is_quantized(model):
            raise ModelError(
                f"PRECISION=int8 but {model_path.name} is not quantized: run `make quantize`"
            )
        config = {
            "INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision],
            "PERFORMANCE_HINT": PERFORMANCE_HINTS[hint],
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        engine = cls(core, model, config, shapes, cache_size, max(1, requests))
        log.info(
            "openvino %s on CPU: %s, %s, INFERENCE_PRECISION_HINT %s, %s shapes",
            ov.get_version(),
            model_path.name,
            config["PERFORMANCE_HINT"],
            engine.precision,
            shapes,
        )
        return engine

    def _compile(self, model: Any) -> _Compiled:
        return _Compiled(self._core.compile_model(model, "CPU", self._config), self._requests)

    def _compiled_for(self, feeds: Mapping[str, np.ndarray]) -> _Compiled:
        if self._shapes == "dynamic":
            return self._cache[()]
        key = tuple((name, feeds[name].shape) for name in sorted(feeds))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            model = self._model.clone()
            model.reshape({name: list(shape) for name, shape in key})
            compiled = self._compile(model)
            self._cache[key] = compiled
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return compiled

    def _check(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = {spec.name for spec in self.inputs}
        if set(feeds) != names:
            raise ValueError(f"expected inputs {sorted(names)}, got {sorted(feeds)}")
        return {name: np.ascontiguousarray(value) for name, value in feeds.items()}

    def start(self, feeds: Mapping[str, np.ndarray]) -> Pending:
        """Submit one inference and return at once (a busy pool grows by one request)."""
        feeds = self._check(feeds)
        compiled = self._compiled_for(feeds)
        request = compiled.take()
        try:
            request.start_async(feeds, share_inputs=True)
        except Exception:
            compiled.give(request)
            raise
        return Pending((compiled, request), feeds)

    def wait(self, pending: Pending) -> dict[str, np.ndarray]:
        """The outputs of a submitted inference (copied: the request is reused)."""
        if pending.done:
            raise ValueError("this inference was already collected")
        compiled, request = pending.request
        try:
            request.wait()
            pending.latency_ms = float(request.latency)
            return {spec.name: request.get_tensor(spec.name).data.copy() for spec in self.outputs}
        finally:
            pending.done = True
            compiled.give(request)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One synchronous inference."""
        return self.wait(self.start(feeds))

    @property
    def parallel_requests(self) -> int:
        """Inferences worth running at once: OpenVINO's optimal number of infer requests
        (its CPU streams: 1 under LATENCY); 1 until a model is compiled (static shapes)."""
        return max((c.optimal for c in self._cache.values()), default=1)

    @property
    def compiled_shapes(self) -> list[tuple]:
        """Input shapes with a compiled model (static mode; [()] in dynamic mode)."""
        return list(self._cache)

    def close(self) -> None:
        self._cache.clear()
