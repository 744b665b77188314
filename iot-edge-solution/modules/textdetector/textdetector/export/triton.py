"""Triton model repository writer: one folder per model, `config.pbtxt` + `1/model.onnx`.

The configuration text is built by pure functions from a `TritonModel` (names, data
types and dims read from the ONNX graph) and `ExportOptions`; only `describe_onnx` and
`write_repository` touch files. Triton names the models after the local files
(`triton_model_name`), so the engine finds the served model from the same file name.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelError
from ..models import fine_tuned_base

# Local model file -> name in the Triton repository.
MODEL_NAMES = {
    "ch_PP-OCRv4_det_infer.onnx": "text_det",
    "PP-OCRv6_det_small.onnx": "text_det",  # DET_MODEL picks one detector
    "ch_PP-OCRv4_rec_infer.onnx": "text_rec",
    "PP-OCRv6_rec_small.onnx": "text_rec",  # MODEL_SET picks one recogniser
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": "text_cls",
}

# ONNX Runtime type string -> (Triton data type, numpy dtype name).
ONNX_TYPES = {
    "tensor(float)": ("TYPE_FP32", "float32"),
    "tensor(float16)": ("TYPE_FP16", "float16"),
    "tensor(double)": ("TYPE_FP64", "float64"),
    "tensor(int8)": ("TYPE_INT8", "int8"),
    "tensor(int16)": ("TYPE_INT16", "int16"),
    "tensor(int32)": ("TYPE_INT32", "int32"),
    "tensor(int64)": ("TYPE_INT64", "int64"),
    "tensor(uint8)": ("TYPE_UINT8", "uint8"),
    "tensor(bool)": ("TYPE_BOOL", "bool"),
}
KINDS = ("cpu", "gpu")
TENSORRT_MODES = ("off", "fp16", "fp32")


@dataclass(frozen=True)
class TensorConfig:
    """One model input or output as Triton sees it; dims exclude the batch dimension."""

    name: str
    data_type: str  # Triton TYPE_*, e.g. "TYPE_FP32"
    dims: tuple[int, ...]  # -1 = dynamic

    @property
    def dtype(self) -> str:
        """The numpy dtype name of this tensor."""
        return next(np_name for t, np_name in ONNX_TYPES.values() if t == self.data_type)


@dataclass(frozen=True)
class TritonModel:
    """A model to serve: its Triton name, ONNX file and batched I/O."""

    name: str
    onnx_path: Path
    inputs: tuple[TensorConfig, ...]
    outputs: tuple[TensorConfig, ...]
    batched: bool = True  # the first ONNX dimension of every tensor is dynamic


@dataclass(frozen=True)
class ExportOptions:
    """How Triton runs each model."""

    max_batch_size: int = 8
    queue_delay_us: int = 2000
    kind: str = "cpu"  # instance group kind: cpu or gpu
    instances: int = 1  # model instances per device
    tensorrt: str = "off"  # ONNX Runtime TensorRT accelerator: off, fp16, fp32
    trt_workspace_mb: int = 1024

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"invalid instance kind {self.kind!r}: expected cpu or gpu")
        if self.tensorrt not in TENSORRT_MODES:
            raise ConfigError(
                f"invalid TensorRT mode {self.tensorrt!r}: expected off, fp16 or fp32"
            )
        if self.tensorrt != "off" and self.kind != "gpu":
            raise ConfigError("the TensorRT accelerator needs GPU instances (--kind gpu)")
        if not 1 <= self.max_batch_size <= 1024 or not 1 <= self.instances <= 64:
            raise ConfigError("max batch size must be 1-1024 and instances 1-64")
        if not 0 <= self.queue_delay_us <= 10_000_000:
            raise ConfigError("queue delay must be 0-10000000 microseconds")


def triton_model_name(model_path: Path | str) -> str:
    """The repository name of a local model file (the pinned models have short names)."""
    name = fine_tuned_base(Path(model_path)) or Path(model_path).name  # train-rec/-det
    if name in MODEL_NAMES:
        return MODEL_NAMES[name]
    stem = name[:-5] if name.endswith(".onnx") else name
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "model"


def tensor_config(
    name: str, onnx_type: str, shape: Sequence[object], batched: bool
) -> TensorConfig:
    """A Triton tensor from an ONNX Runtime NodeArg (symbolic or unknown dims -> -1)."""
    if onnx_type not in ONNX_TYPES:
        raise ModelError(f"tensor {name!r} has type {onnx_type}, which the export does not support")
    dims = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in shape)
    return TensorConfig(name, ONNX_TYPES[onnx_type][0], dims[1:] if batched else dims)


def read_graph(path: Path) -> Any:
    """An unoptimised ONNX Runtime session, only to read the graph's I/O and metadata."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own types per failure
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"cannot read model {path}: {first}") from None


def describe_onnx(path: Path, name: str | None = None) -> TritonModel:
    """Read the I/O of an ONNX file: names, data types, dims."""
    session = read_graph(path)
    args = [*session.get_inputs(), *session.get_outputs()]
    batched = all(arg.shape and not isinstance(arg.shape[0], int) for arg in args)

    def convert(nodes: Iterable) -> tuple[TensorConfig, ...]:
        return tuple(tensor_config(n.name, n.type, n.shape, batched) for n in nodes)

    return TritonModel(
        name or triton_model_name(path),
        path,
        convert(session.get_inputs()),
        convert(session.get_outputs()),
        batched,
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tensor_block(tensors: Sequence[TensorConfig]) -> str:
    entries = []
    for t in tensors:
        dims = ", ".join(str(d) for d in t.dims)
        entries.append(
            f"  {{\n    name: {_quote(t.name)}\n    data_type: {t.data_type}\n"
            f"    dims: [ {dims} ]\n  }}"
        )
    return ",\n".join(entries)


def _accelerator_block(options: ExportOptions) -> str:
    if options.tensorrt == "off":
        return ""
    params = {
        "precision_mode": options.tensorrt.upper(),
        "max_workspace_size_bytes": str(options.trt_workspace_mb << 20),
        "trt_engine_cache_enable": "1",
    }
    lines = "".join(
        f"        parameters {{ key: {_quote(k)} value: {_quote(v)} }}\n" for k, v in params.items()
    )
    return (
        "optimization {\n  execution_accelerators {\n    gpu_execution_accelerator: [\n"
        f"      {{\n        name: \"tensorrt\"\n{lines}      }}\n    ]\n  }}\n}}\n"
    )


def config_text(model: TritonModel, options: ExportOptions) -> str:
    """The `config.pbtxt` of one model (protobuf text format, Triton's ModelConfig)."""
    max_batch = options.max_batch_size if model.batched else 0
    batching = ""
    if model.batched:
        batching = (
            f"dynamic_batching {{\n  max_queue_delay_microseconds: {options.queue_delay_us}\n}}\n"
        )
    kind = "KIND_GPU" if options.kind == "gpu" else "KIND_CPU"
    return (
        f"name: {_quote(model.name)}\n"
        "backend: \"onnxruntime\"\n"
        f"max_batch_size: {max_batch}\n"
        f"input [\n{_tensor_block(model.inputs)}\n]\n"
        f"output [\n{_tensor_block(model.outputs)}\n]\n"
        f"{batching}"
        f"instance_group [\n  {{\n    count: {options.instances}\n    kind: {kind}\n"
        "  }\n]\n"
        f"{_accelerator_block(options)}"
    )


def write_repository(
    out: Path, models: Sequence[TritonModel], options: ExportOptions
) -> list[Path]:
    """Write `out/<name>/config.pbtxt` and `out/<name>/1/model.onnx` for each model."""
    written = []
    for model in models:
        folder = out / model.name
        (folder / "1").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model.onnx_path, folder / "1" / "model.onnx")
        (folder / "config.pbtxt").write_text(config_text(model, options), encoding="utf-8")
        written.append(folder)
    return written
