"""A real Triton server (nvidia-pytriton) serving ONNX models through ONNX Runtime.

Run by the Triton test venv's Python (.tools/triton, numpy<2), not the project venv:
`python triton_onnx_server.py SPEC.json`. The spec, written by `triton_server.py` from
the model repository export, names each model with the export's name, tensor names,
dims, max batch size and queue delay; pytriton's tritonserver has only the Python
backend, so each model is a bound function calling an ONNX Runtime session.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def session(path: str) -> ort.InferenceSession:
    """The same session options as the module's local ONNX Runtime engine."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def infer_function(model: dict[str, Any]) -> Callable[..., dict[str, np.ndarray]]:
    sess = session(model["onnx"])
    outputs = [t["name"] for t in model["outputs"]]

    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(outputs, sess.run(outputs, inputs)))

    return infer


def tensors(entries: list[dict[str, Any]]) -> list[Tensor]:
    return [
        Tensor(name=t["name"], dtype=np.dtype(t["dtype"]), shape=tuple(t["dims"])) for t in entries
    ]


def main(spec_path: str) -> None:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=spec["http_port"],
        grpc_address="127.0.0.1",
        grpc_port=spec["grpc_port"],
        metrics_address="127.0.0.1",
        metrics_port=spec["metrics_port"],
        exit_timeout_secs=1,
        log_verbose=0,
    )
    with Triton(config=config, workspace=spec["workspace"]) as triton:
        for model in spec["models"]:
            triton.bind(
                model_name=model["name"],
                infer_func=infer_function(model),
                inputs=tensors(model["inputs"]),
                outputs=tensors(model["outputs"]),
                config=ModelConfig(
                    max_batch_size=model["max_batch_size"],
                    batcher=DynamicBatcher(max_queue_delay_microseconds=model["delay_us"]),
                ),
                strict=True,
            )
        print("serving", flush=True)
        triton.serve()


if __name__ == "__main__":
    main(sys.argv[1])
