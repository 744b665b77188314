"""Recognition check of the gate (CTC decoding, crops) and the quantize tool's errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from conftest import DEMO_TRUTH, LOCAL_DATA, MODULE_DIR

from textdetector.config import EngineSettings, load
from textdetector.engines import CPU_AUTO_ORDER, resolve_engine, run_single
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.tuning.rec_check import (
    ctc_greedy,
    line_accuracy,
    rec_blob,
    recognition_check,
    truth_lines,
)
from textdetector.tuning.samples import EVALUATION_FRAMES


def one_hot(labels: list[int], classes: int = 5) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[labels]


def test_ctc_greedy_drops_repeats_and_blanks():
    characters = ["a", "b", "c"]  # classes: blank, a, b, c, space
    assert ctc_greedy(one_hot([1, 1, 0, 1, 2, 2, 0, 0, 3, 4, 3]), characters) == "aabc c"
    assert ctc_greedy(one_hot([0, 0, 0]), characters) == ""


def test_rec_blob_keeps_ratio_and_pads():
    crop = np.full((24, 40, 3), 255, np.uint8)
    blob = rec_blob(crop)
    assert blob.shape == (1, 3, 48, 320)
    assert np.allclose(blob[..., :80], 1.0) and np.allclose(blob[..., 80:], 0.0)
    assert rec_blob(np.zeros((10, 1000, 3), np.uint8)).shape == (1, 3, 48, 320)


@pytest.mark.slow
def test_truth_lines_and_accuracy_with_real_recogniser(demo_video):
    """Real ONNX Runtime recogniser on 3 evaluation frames' ground-truth lines."""
    rec = LOCAL_DATA / "ch_PP-OCRv4_rec_infer.onnx"
    lines = truth_lines(demo_video, DEMO_TRUTH, EVALUATION_FRAMES[:3])
    assert len(lines) >= 3 and all(line.blob.shape == (1, 3, 48, 320) for line in lines)
    characters = (
        ort.InferenceSession(str(rec)).get_modelmeta().custom_metadata_map["character"].splitlines()
    )
    engine = OnnxRuntimeEngine.open(rec)
    assert line_accuracy(lambda b: run_single(engine, b), lines, characters) >= 90.0
    assert line_accuracy(lambda b: run_single(engine, b * 0 - 1), lines, characters) == 0.0


@pytest.mark.slow
def test_gate_recognition_check_reads_every_evaluation_line_on_openvino(demo_video, tmp_path):
    """The gate's own check at FP32: OpenVINO reads the demo's evaluation lines (real model)."""
    rec = LOCAL_DATA / "ch_PP-OCRv4_rec_infer.onnx"
    check = recognition_check(rec, demo_video, DEMO_TRUTH, tmp_path / "int8")
    assert check("fp32") >= 90.0
    assert not (tmp_path / "int8").exists()  # FP32 never quantizes


def test_resolve_engine():
    assert resolve_engine(load(EngineSettings, {"USE_TENSOR_RT": "yes"})) == "tensorrt"
    assert resolve_engine(load(EngineSettings, {"ENGINE": "openvino"})) == "openvino"
    assert resolve_engine(EngineSettings()) == CPU_AUTO_ORDER[0]


def test_quantize_tool_bad_input_is_one_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "tools/quantize.py",
            "--video",
            str(tmp_path / "none.mp4"),
            "--out",
            str(tmp_path),
        ],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"error: demo video missing for INT8 calibration: {tmp_path / 'none.mp4'}; run `make setup`"
    ]
