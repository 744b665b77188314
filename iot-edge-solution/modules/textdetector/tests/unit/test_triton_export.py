"""`export-triton`: every config.pbtxt parsed by Triton's own protobuf, checked against ONNX.

The parser is tritonclient's `model_config_pb2` (Triton's ModelConfig message) with
`google.protobuf.text_format`; the reference is the ONNX graph read by ONNX Runtime.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from textdetector.errors import ConfigError
from textdetector.export.triton import ExportOptions, config_text, describe_onnx
from textdetector.models import DEFAULT_MODEL_SET, MODEL_SETS

MODULE_DIR = Path(__file__).resolve().parents[2]
LOCAL_DATA = MODULE_DIR / "local_data"
MODEL_FILES = {
    "text_det": "PP-OCRv6_det_small.onnx",  # DET_MODEL's default
    "text_rec": MODEL_SETS[DEFAULT_MODEL_SET].rec.name,  # MODEL_SET's default
    "text_cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
}
ONNX_TO_TRITON = {"tensor(float)": "TYPE_FP32"}


def parse_config(text: str):
    pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    text_format = pytest.importorskip("google.protobuf.text_format")
    return text_format.Parse(text, pb2.ModelConfig())


def export(out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", "export-triton", str(out), *flags],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_against_onnx(config, onnx_path: Path) -> None:
    """Names, data types and dims (batch dimension dropped, dynamic = -1) as in the graph."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for tensors, nodes in (
        (config.input, session.get_inputs()),
        (config.output, session.get_outputs()),
    ):
        assert [t.name for t in tensors] == [n.name for n in nodes]
        for tensor, node in zip(tensors, nodes):
            from tritonclient.grpc import model_config_pb2 as pb2

            assert pb2.DataType.Name(tensor.data_type) == ONNX_TO_TRITON[node.type]
            expected = [d if isinstance(d, int) else -1 for d in node.shape[1:]]
            assert list(tensor.dims) == expected, (tensor.name, node.shape)


@pytest.mark.slow
def test_cli_writes_a_repository_triton_can_parse(tmp_path):
    for name in MODEL_FILES.values():
        if not (LOCAL_DATA / name).is_file():
            pytest.skip(f"{name} missing: run `make setup`")
    done = export(tmp_path / "repo", "--cls", "--max-batch", "16", "--queue-delay-us", "500")
    assert done.returncode == 0, done.stderr
    folders = sorted(p.name for p in (tmp_path / "repo").iterdir())
    assert folders == sorted(MODEL_FILES)
    for name, file in MODEL_FILES.items():
        folder = tmp_path / "repo" / name
        config = parse_config((folder / "config.pbtxt").read_text())
        assert config.name == name and config.backend == "onnxruntime"
        assert config.max_batch_size == 16
        assert config.dynamic_batching.max_queue_delay_microseconds == 500
        assert [(g.count, g.kind) for g in config.instance_group] == [(1, 2)]  # KIND_CPU
        assert (folder / "1" / "model.onnx").read_bytes() == (LOCAL_DATA / file).read_bytes()
        check_against_onnx(config, folder / "1" / "model.onnx")


def test_gpu_config_with_tensorrt_accelerator(model_path):
    options = ExportOptions(kind="gpu", instances=2, tensorrt="fp16", trt_workspace_mb=512)
    config = parse_config(config_text(describe_onnx(model_path), options))
    from tritonclient.grpc import model_config_pb2 as pb2

    assert [(g.count, pb2.ModelInstanceGroup.Kind.Name(g.kind)) for g in config.instance_group] == [
        (2, "KIND_GPU")
    ]
    (accelerator,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt"
    assert accelerator.parameters["precision_mode"] == "FP16"
    assert accelerator.parameters["max_workspace_size_bytes"] == str(512 << 20)
    check_against_onnx(config, model_path)


def test_cpu_config_has_no_accelerator(model_path):
    config = parse_config(config_text(describe_onnx(model_path), ExportOptions()))
    assert not config.HasField("optimization")
    assert config.max_batch_size == ExportOptions().max_batch_size


@pytest.mark.parametrize(
    "options",
    [dict(tensorrt="fp16"), dict(kind="tpu"), dict(max_batch_size=0), dict(queue_delay_us=-1)],
)
def test_invalid_export_options_are_refused(options):
    with pytest.raises(ConfigError):
        ExportOptions(**options)


@pytest.mark.parametrize(
    "flags, code, text",
    [
        (["--tensorrt", "fp16"], 2, "needs GPU instances"),
        (["--model-path", "missing.onnx"], 3, "model file not found"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, model_path, flags, code, text):
    done = export(tmp_path / "repo", *flags)
    assert done.returncode == code
    assert done.stderr.strip().count("\n") == 0 and text in done.stderr, done.stderr
