"""KServe v2 model metadata answers from the engine actually loaded (MODEL_PATH, ENGINE).

A real service on a background event loop per case, on both pinned detection models;
the answer is compared with the TensorSpecs ONNX Runtime reads from the model file.
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import LOCAL_DATA, need
from serve_helpers import ServerThread
from serve_helpers import model_metadata as metadata

from textdetector.config import DetectorSettings, EngineSettings, ServeSettings, load
from textdetector.engines import TensorSpec
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.triton_engine import TritonEngine
from textdetector.serve.app import engine_platform, tensor_info
from textdetector.serve.server import detector_factory

V4 = LOCAL_DATA / "ch_PP-OCRv4_det_infer.onnx"
V6 = LOCAL_DATA / "PP-OCRv6_det_small.onnx"
PLATFORM = {"onnxruntime": "onnxruntime_onnx", "openvino": "openvino"}
CASES = [
    ({"DET_MODEL": "ppocrv4"}, V4),
    ({"DET_MODEL": "ppocrv6"}, V6),
    ({"MODEL_PATH": str(V4)}, V4),
    ({"DET_MODEL": "ppocrv4", "MODEL_PATH": str(V6)}, V6),
]


def file_specs(path) -> tuple[list[dict], list[dict]]:
    """The model file's inputs and outputs as ONNX Runtime reads them, as KServe tensors."""
    engine = OnnxRuntimeEngine.open(path)
    try:
        return ([tensor_info(s) for s in engine.inputs], [tensor_info(s) for s in engine.outputs])
    finally:
        engine.close()


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("env,path", CASES, ids=["v4", "v6", "model-path", "path-wins"])
@pytest.mark.slow
def test_model_metadata_follows_the_model_and_engine(engine, env, path):
    need(path.is_file(), f"{path.name} missing: run `make setup`")
    if engine == "openvino":
        need(importlib.util.find_spec("openvino") is not None, "openvino not installed")
    settings = load(EngineSettings, {**env, "ENGINE": engine})
    serve = ServeSettings(host="127.0.0.1", port=0, workers=1, warmup_runs=1)
    with ServerThread(serve, detector_factory(settings, DetectorSettings())) as srv:
        meta = metadata(srv.port)
        loaded = srv.pool.detector.engine
    inputs, outputs = file_specs(path)
    assert meta["platform"] == PLATFORM[engine] and meta["parameters"]["engine"] == engine
    assert meta["inputs"] == inputs == [tensor_info(s) for s in loaded.inputs]
    assert meta["outputs"] == outputs == [tensor_info(s) for s in loaded.outputs]


def test_the_two_models_answer_differently():
    need(V4.is_file() and V6.is_file(), "detection models missing: run `make setup`")
    assert file_specs(V4)[1] != file_specs(V6)[1]  # so a fixed answer is wrong for one


def test_tensor_info_and_platforms():
    spec = TensorSpec("x", (None, 3, 32, None), "float16")
    assert tensor_info(spec) == {"name": "x", "datatype": "FP16", "shape": [-1, 3, 32, -1]}
    remote = TritonEngine(None, "det", (spec,), (spec,), {}, platform="tensorrt_plan")
    assert engine_platform(remote) == "tensorrt_plan"
    assert engine_platform(TritonEngine(None, "det", (), (), {})) == "triton"

    class Local:
        name = "tensorrt"

    assert engine_platform(Local()) == "tensorrt_plan"
