"""The interface every inference engine implements; engines know nothing of the task.

An engine loads one model and runs named inputs to named outputs. Batching, dynamic
shapes, execution providers and caches are its business; what the tensors mean (text
probability maps, character logits) belongs to the task folders (detector/, recognizer/).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import (
    Any,
    Protocol,
    TypeVar,
    runtime_checkable,
)

import numpy as np

RunFn = Callable[[np.ndarray], np.ndarray]
T = TypeVar("T")
Outputs = dict[str, np.ndarray]
Collect = Callable[[], tuple[Outputs, float]]


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: its name, shape (None = dynamic) and numpy dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"


class InferenceEngine(Protocol):
    """Runs one model: `run({input name: array}) -> {output name: array}`."""

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> tuple[TensorSpec, ...]: ...

    @property
    def outputs(self) -> tuple[TensorSpec, ...]: ...

    @property
    def metadata(self) -> Mapping[str, str]: ...

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncEngine(Protocol):
    """An engine with asynchronous requests (OpenVINO): `start(feeds)`, later `wait`."""

    def start(self, feeds: Mapping[str, np.ndarray]) -> Any: ...

    def wait(self, pending: Any) -> dict[str, np.ndarray]: ...


def run_single(engine: InferenceEngine, array: np.ndarray) -> np.ndarray:
    """Run a one-input, one-output model on `array` and return its output."""
    return engine.run({engine.inputs[0].name: array})[engine.outputs[0].name]


def submit(engine: InferenceEngine, feeds: Mapping[str, np.ndarray]) -> Collect:
    """Start one inference; the returned callable waits for (outputs, inference ms).

    Engines with an asynchronous API (`AsyncEngine`, as OpenVINO's) infer while the
    caller goes on (collect before submitting more than the engine has requests for);
    the others run here, at once. Call the result once.
    """
    begin = time.perf_counter()
    if not isinstance(engine, AsyncEngine):
        outputs = engine.run(feeds)
        ms = (time.perf_counter() - begin) * 1000.0
        return lambda: (outputs, ms)
    async_engine = engine
    pending = async_engine.start(feeds)

    def collect() -> tuple[Outputs, float]:
        outputs = async_engine.wait(pending)
        latency = getattr(pending, "latency_ms", None)
        return outputs, latency if latency else (time.perf_counter() - begin) * 1000.0

    return collect


def overlapped(
    engine: InferenceEngine, items: Iterable[T], feeds_of: Callable[[T], Mapping[str, np.ndarray]]
) -> Iterator[tuple[T, Outputs]]:
    """Yield (item, outputs) in order, item N+1 already submitted while the caller handles
    item N: two inferences in flight on async engines (OpenVINO), one after another on the
    others. Stopped early, the inference in flight is collected (its request handed back)."""
    waiting: tuple[T, Collect] | None = None
    try:
        for item in items:
            done, waiting = waiting, (item, submit(engine, feeds_of(item)))
            if done is not None:
                yield done[0], done[1]()[0]
        if waiting is not None:
            done, waiting = waiting, None
            yield done[0], done[1]()[0]
    finally:
        if waiting is not None:
            waiting[1]()


def pipelined(engine: InferenceEngine, arrays: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The output of each one-input array, in order, through `overlapped`: `arrays` (e.g. a
    generator preparing batches) and the caller's work on each output overlap inference."""
    name, output = engine.inputs[0].name, engine.outputs[0].name
    for _, outputs in overlapped(engine, arrays, lambda array: {name: array}):
        yield outputs[output]


def dims(shape: Sequence[object]) -> tuple[int | None, ...]:
    """A shape with symbolic or negative dimensions turned into None."""
    return tuple(d if isinstance(d, int) and d >= 0 else None for d in shape)


ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(bool)": "bool",
}


def model_metadata(path: object) -> dict[str, str]:
    """The custom metadata map of an ONNX model file (e.g. a recogniser's `character`).

    Read with ONNX Runtime, which every install has; {} when it cannot be read.
    """
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return dict(session.get_modelmeta().custom_metadata_map)
    except Exception:  # metadata is optional: the caller decides whether it needs it
        return {}
