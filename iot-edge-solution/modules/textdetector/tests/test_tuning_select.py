"""PRECISION and the engine's model for the detector (textdetector/tuning/select.py).

Real OpenVINO, real NNCF quantization and the real parity gate on demo frames.
"""
from __future__ import annotations

import logging

import pytest

from conftest import need
from textdetector.config import DEFAULT_MODEL, EngineSettings
from textdetector.engines import installed
from textdetector.tuning import select


def test_onnxruntime_and_fp32_keep_the_pinned_model(model_path):
    assert select.detection_model(EngineSettings(engine="onnxruntime")) == (DEFAULT_MODEL,
                                                                            "fp32")
    assert select.choose_precision(EngineSettings(precision="bf16")) == "bf16"
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    assert select.detection_model(EngineSettings(engine="openvino")) == (DEFAULT_MODEL, "fp32")


def test_candidates_are_reduced_precisions_this_cpu_runs():
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    candidates = select.candidate_precisions()
    assert "int8" in candidates and set(candidates) <= {"bf16", "int8"}


@pytest.mark.slow
def test_auto_runs_the_gate_and_says_what_it_chose(model_path, demo_video, caplog):
    """PRECISION=auto: INT8 quantized (or taken from its cache), gated against FP32."""
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    pytest.importorskip("nncf", reason="nncf not installed: pip install -r requirements-dev.txt")
    caplog.set_level(logging.INFO)
    settings = EngineSettings(engine="openvino", precision="auto")
    model, precision = select.detection_model(settings, video=demo_video)
    assert precision in {"fp32", "int8", "bf16"}
    assert "precision gate int8" in caplog.text and "PRECISION=auto: using" in caplog.text
    if precision == "int8":
        assert model != DEFAULT_MODEL and model.is_file()
