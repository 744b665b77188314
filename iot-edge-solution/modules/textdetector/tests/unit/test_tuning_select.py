"""PRECISION and the engine's model for the detector (textdetector/tuning/select.py).

Real OpenVINO, real NNCF quantization and the real parity gate on demo frames.
"""

from __future__ import annotations

import logging

import pytest
from conftest import need

from textdetector.config import DEFAULT_MODEL, EngineSettings
from textdetector.engines import installed
from textdetector.tuning import gate_cache, select
from textdetector.tuning.gate_cache import Verdict, gate_key


def test_onnxruntime_and_fp32_keep_the_pinned_model(model_path):
    pinned = EngineSettings().model_path
    assert select.detection_model(EngineSettings(engine="onnxruntime")) == (pinned, "fp32")
    assert select.choose_precision(EngineSettings(precision="bf16")) == "bf16"
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    assert select.detection_model(EngineSettings(engine="openvino")) == (pinned, "fp32")


def test_candidates_are_reduced_precisions_this_cpu_runs():
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    candidates = select.candidate_precisions()
    assert "int8" in candidates and set(candidates) <= {"bf16", "int8"}


@pytest.mark.slow
def test_auto_runs_the_gate_and_says_what_it_chose(
    model_path, demo_video, caplog, tmp_path, monkeypatch
):
    """PRECISION=auto: INT8 quantized (or taken from its cache), gated against FP32; the
    second start-up reuses the cached verdict without running the gate."""
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    pytest.importorskip("nncf", reason="nncf not installed: pip install -r requirements-dev.txt")
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(select, "GATE_CACHE", tmp_path / "gate.json")
    settings = EngineSettings(engine="openvino", precision="auto")
    model, precision = select.detection_model(settings, video=demo_video)
    assert precision in {"fp32", "int8", "bf16"}
    assert "precision gate int8" in caplog.text and "PRECISION=auto: using" in caplog.text
    if precision == "int8":
        assert model != DEFAULT_MODEL and model.is_file()
    caplog.clear()
    monkeypatch.setattr(select, "gate_openvino", gate_must_not_run)
    assert select.detection_model(settings, video=demo_video)[1] == precision
    assert "cached verdict" in caplog.text and "precision gate int8" in caplog.text


def gate_must_not_run(*args, **kwargs):
    raise AssertionError("the gate ran although its verdict was cached")


class GateRan(Exception):
    pass


@pytest.mark.slow
def test_cached_verdict_is_used_only_while_its_key_holds(demo_video, tmp_path, monkeypatch):
    """Cache logic alone: the gate itself is replaced by a spy that records it was called."""
    need(installed("openvino"), "openvino not installed: pip install -r requirements.txt")
    cache = tmp_path / "gate.json"
    settings = EngineSettings(engine="openvino", precision="auto")
    key = gate_key(settings.model_path, demo_video, 960, select.candidate_precisions(), False)
    gate_cache.save(cache, key, Verdict("int8", ("int8: PASS",)))
    monkeypatch.setattr(select, "gate_openvino", gate_must_not_run)
    assert select.choose_precision(settings, demo_video, cache=cache) == "int8"

    def spy(*args, **kwargs):
        raise GateRan()

    monkeypatch.setattr(select, "gate_openvino", spy)
    with pytest.raises(GateRan):  # another input cap: another verdict
        select.choose_precision(settings, demo_video, limit_side_len=1280, cache=cache)
    cache.write_text("{not json", encoding="utf-8")
    with pytest.raises(GateRan):  # a damaged record is not trusted
        select.choose_precision(settings, demo_video, cache=cache)
    assert gate_cache.load(cache, key) is None
