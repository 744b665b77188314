"""A stand-in for `engines.open_engine`: one ONNX Runtime session behind the engine interface.

`open_model(path, threads)` returns an object with `name`, `inputs`, `outputs`,
`metadata`, `run(feeds) -> outputs` and `close()`, the interface every engine offers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import EngineUnavailableError, ModelError
from ..model import verify_model

_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16",
              "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(uint8)": "uint8"}


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: name, shape (None = dynamic) and numpy dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


def _spec(node) -> TensorSpec:
    shape = tuple(dim if isinstance(dim, int) else None for dim in node.shape)
    return TensorSpec(node.name, shape, _ORT_TYPES.get(node.type, node.type))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class OrtModel:
    """An ONNX Runtime CPU session (all graph optimisations, memory arena on)."""

    name = "onnxruntime"

    def __init__(self, session, path: Path) -> None:
        self._session = session
        self.path = path
        self.inputs = tuple(_spec(node) for node in session.get_inputs())
        self.outputs = tuple(_spec(node) for node in session.get_outputs())
        self.metadata: Mapping[str, str] = dict(
            session.get_modelmeta().custom_metadata_map)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [spec.name for spec in self.outputs]
        try:
            values = self._session.run(names, dict(feeds))
        except Exception as exc:  # ORT raises its own types for shape or kernel errors
            raise ModelError(f"model {self.path.name} failed to run: {_first_line(exc)}") \
                from None
        return dict(zip(names, values))

    def close(self) -> None:
        self._session = None


def open_model(path: Path, threads: int = 0) -> OrtModel:
    """Open `path` (verified against its pin when it has a pinned name) on the CPU."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise EngineUnavailableError(
            "ONNX Runtime is not installed: pip install -r requirements.txt") from None
    path = Path(path)
    verify_model(path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load model {path}: {_first_line(exc)}") from None
    return OrtModel(session, path)


def run_single(engine, array: np.ndarray) -> np.ndarray:
    """Feed the engine's only input, return its first output."""
    return engine.run({engine.inputs[0].name: array})[engine.outputs[0].name]
