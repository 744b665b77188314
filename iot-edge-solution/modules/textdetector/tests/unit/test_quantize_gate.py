"""Parity gate logic, the INT8 cache with checksums, and the ENGINE/PRECISION settings."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from conftest import need

from textdetector.config import EngineSettings, load
from textdetector.engines import open_engine, run_single
from textdetector.errors import ConfigError
from textdetector.models import sha256_of
from textdetector.results import Detections
from textdetector.tuning.parity import (
    GateResult,
    Thresholds,
    detection_parity,
    fastest_passing,
    judge,
    run_gate,
)
from textdetector.tuning.samples import CALIBRATION_FRAMES, EVALUATION_FRAMES, rendered_page

HAVE_OPENVINO = importlib.util.find_spec("openvino") is not None
HAVE_NNCF = importlib.util.find_spec("nncf") is not None


def boxes(*rects: tuple[float, float, float, float]) -> Detections:
    """Detections of axis-aligned rectangles (x0, y0, x1, y1) in a 100x100 image."""
    quads = [[(x0, y0), (x1, y0), (x1, y1), (x0, y1)] for x0, y0, x1, y1 in rects]
    return Detections(
        np.array(quads, np.float32).reshape(-1, 4, 2), np.ones(len(rects), np.float32), (100, 100)
    )


def test_identical_boxes_are_perfect():
    frame = boxes((0, 0, 10, 10), (20, 20, 40, 30))
    parity = detection_parity([frame], [frame])
    assert (parity.recall, parity.precision, parity.mean_iou) == (1.0, 1.0, 1.0)
    assert judge("x", parity).passed


def test_missing_and_extra_boxes_lower_recall_and_precision():
    reference = [boxes(*[(i * 10, 0, i * 10 + 8, 8) for i in range(10)])]
    fewer = [boxes(*[(i * 10, 0, i * 10 + 8, 8) for i in range(9)])]
    more = [boxes(*[(i * 10, 0, i * 10 + 8, 8) for i in range(10)], (0, 50, 9, 60))]
    assert detection_parity(reference, fewer).recall == pytest.approx(0.9)
    assert detection_parity(reference, more).precision == pytest.approx(10 / 11)
    result = judge("int8", detection_parity(reference, fewer))
    assert not result.passed and "recall 0.900 < 0.97" in result.failures[0]


def test_shifted_boxes_fail_on_mean_iou():
    reference = [boxes((0, 0, 20, 20))]
    shifted = [boxes((2, 0, 22, 20))]  # IoU 18*20 / (2*400 - 360) = 0.818
    parity = detection_parity(reference, shifted)
    assert parity.recall == 1.0 and parity.mean_iou == pytest.approx(360 / 440)
    assert "mean IoU" in judge("bf16", parity).failures[0]


def test_recognition_check_within_one_point():
    same = detection_parity([boxes((0, 0, 9, 9))], [boxes((0, 0, 9, 9))])
    assert judge("int8", same, (92.0, 91.2)).passed
    failed = judge("int8", same, (92.0, 90.5))
    assert not failed.passed and "more than 1.0 point below" in failed.failures[0]


def test_fastest_passing_precision_wins():
    ok = detection_parity([boxes((0, 0, 9, 9))], [boxes((0, 0, 9, 9))])
    results = {
        "fp32": GateResult("fp32", ok, median_ms=100.0),
        "bf16": GateResult("bf16", ok, failures=("mean IoU",), median_ms=40.0),
        "int8": GateResult("int8", ok, median_ms=70.0),
    }
    assert fastest_passing(results) == "int8"
    assert fastest_passing({"fp32": results["fp32"], "bf16": results["bf16"]}) == "fp32"


def test_gate_sets_are_disjoint_and_rendered_pages_deterministic():
    assert not set(EVALUATION_FRAMES) & set(CALIBRATION_FRAMES)
    assert len(EVALUATION_FRAMES) == 20
    np.testing.assert_array_equal(rendered_page(7), rendered_page(7))
    assert rendered_page(7).std() > 10  # real ink on the page


def test_gate_on_real_detector(detector, demo_frames):
    """Real model: FP32 against itself passes; a map blanked on its right half loses
    boxes and fails; the recognition callable is consulted per precision."""

    def run(blob):
        return run_single(detector.engine, blob)

    frames = [demo_frames[60], demo_frames[120], rendered_page(100)]
    seen: list[str] = []

    def recognition(precision: str) -> float:
        seen.append(precision)
        return 90.0

    def half_blind(blob: np.ndarray) -> np.ndarray:
        prob = run(blob).copy()
        prob[..., prob.shape[-1] // 2 :] = 0.0
        return prob

    results = run_gate(run, {"same": run, "dimmed": half_blind}, frames, recognition)
    assert results["same"].passed and results["same"].detection.reference_boxes > 20
    assert not results["dimmed"].passed
    assert results["dimmed"].detection.recall < 0.97
    assert seen == ["fp32", "same", "dimmed"]


@pytest.mark.slow
def test_int8_cache_reused_until_checksum_changes(model_path, demo_frames, tmp_path):
    """Real NNCF quantization on two small frames (seconds), then the sidecar's checks."""
    need(
        HAVE_OPENVINO and HAVE_NNCF,
        "openvino/nncf not installed: pip install -r requirements-dev.txt",
    )
    from textdetector.engines.openvino_engine import OpenVinoEngine
    from textdetector.tuning.quantize import (
        cached_int8,
        det_calibration_blobs,
        int8_paths,
        quantize,
        write_sidecar,
    )

    xml, binary, sidecar = int8_paths(model_path, tmp_path)
    assert cached_int8(model_path, tmp_path) is None
    blobs = det_calibration_blobs([demo_frames[60], demo_frames[120]], limit_side_len=320)
    write_sidecar(model_path, quantize(model_path, blobs, xml), "two frames")
    assert cached_int8(model_path, tmp_path) == xml
    assert json.loads(sidecar.read_text())["source_sha256"] == sha256_of(model_path)
    engine = OpenVinoEngine.open(xml, "int8")
    out = engine.run({"x": blobs[0]})["sigmoid_0.tmp_0"]
    assert out.shape == (1, 1) + blobs[0].shape[2:] and 0.0 <= out.min() <= out.max() <= 1.0
    binary.write_bytes(binary.read_bytes()[:-1] + b"\0")  # altered weights
    assert cached_int8(model_path, tmp_path) is None


def test_engine_and_precision_settings():
    assert EngineSettings().engine_name == "auto"
    assert load(EngineSettings, {"USE_TENSOR_RT": "true"}).engine_name == "tensorrt"
    assert load(EngineSettings, {"ENGINE": "OpenVINO", "PRECISION": "int8"}).precision == "int8"
    with pytest.raises(ConfigError, match="ENGINE.*expected one of auto, onnxruntime"):
        load(EngineSettings, {"ENGINE": "tflite"})
    with pytest.raises(ConfigError, match="contradicts ENGINE=openvino"):
        load(EngineSettings, {"USE_TENSOR_RT": "1", "ENGINE": "openvino"})


def test_reduced_precision_needs_openvino(model_path):
    with pytest.raises(ConfigError, match="PRECISION=int8 needs ENGINE=openvino"):
        open_engine(model_path, EngineSettings(engine="onnxruntime"), precision="int8")


@pytest.mark.slow
def test_engine_openvino_runs_the_detector(model_path, demo_frames):
    """ENGINE=openvino through the detector's engine factory: same boxes as ONNX Runtime."""
    need(HAVE_OPENVINO, "openvino not installed: pip install -r requirements.txt")
    from textdetector.detector import TextDetector

    frame = demo_frames[120]
    with (
        TextDetector.open(EngineSettings(model_path=model_path, engine="openvino")) as ov,
        TextDetector.open(EngineSettings(model_path=model_path, engine="onnxruntime")) as ort,
    ):
        assert ov.engine.name == "openvino"
        ours, reference = ov.detect(frame)[0], ort.detect(frame)[0]
        assert len(reference) > 3
        np.testing.assert_array_equal(ours.boxes, reference.boxes)


def test_thresholds_are_the_issue_figures():
    t = Thresholds()
    assert (t.min_recall, t.min_precision, t.min_mean_iou, t.max_accuracy_drop) == (
        0.97,
        0.97,
        0.9,
        1.0,
    )
