"""DET_MODEL_DIR: a train-det folder's model.onnx is the detection model, with the policy
of the shipped model its manifest names; a folder that is not one is one readable error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textdetector.config import DetectorSettings, EngineSettings, load
from textdetector.detector.policy import PADDLE_V4, V6, policy_name
from textdetector.errors import ConfigError


def folder(root: Path, base: str = "PP-OCRv6_det_small.onnx") -> Path:
    root.mkdir()
    (root / "model.onnx").write_bytes(b"onnx")
    (root / "manifest.json").write_text(
        json.dumps({"format": "textdetector-det", "base_model": base})
    )
    return root


def test_the_folder_model_takes_its_base_policy(tmp_path: Path) -> None:
    env = {"DET_MODEL_DIR": str(folder(tmp_path / "m"))}
    engine = load(EngineSettings, env)
    assert engine.model_path == tmp_path / "m" / "model.onnx"
    policy = load(DetectorSettings, env).policy(engine.model_path)
    assert (policy.resize, policy.norm, policy.box_thresh) == (V6.resize, V6.norm, V6.box_thresh)
    overridden = load(DetectorSettings, {"DET_BOX_THRESH": "0.55"}).policy(engine.model_path)
    assert overridden.box_thresh == 0.55 and overridden.resize == "min"


def test_outputs_name_the_folder_as_well_as_its_model_file(tmp_path: Path) -> None:
    """Every fine-tuned folder holds a model.onnx: outputs (detect --json, IoT Hub
    messages, the archive) name the folder too, so two fine-tunes tell apart."""
    engine = load(EngineSettings, {"DET_MODEL_DIR": str(folder(tmp_path / "det-displays"))})
    assert engine.model_label == "det-displays/model.onnx"
    assert load(EngineSettings, {}).model_label == "PP-OCRv6_det_small.onnx"


def test_a_plain_file_or_a_broken_manifest_keeps_the_own_file_rule(tmp_path: Path) -> None:
    assert policy_name(tmp_path / "mine.onnx") == "mine.onnx"
    broken = folder(tmp_path / "b")
    (broken / "manifest.json").write_text("{not json")
    assert policy_name(broken / "model.onnx") == "model.onnx"
    settings = load(DetectorSettings, {})
    assert settings.policy(broken / "model.onnx").resize == PADDLE_V4.resize


def test_a_folder_without_the_model_or_with_model_path_too_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a folder written by train-det"):
        load(EngineSettings, {"DET_MODEL_DIR": str(tmp_path)})
    good = folder(tmp_path / "m")
    with pytest.raises(ConfigError, match="DET_MODEL_DIR or MODEL_PATH, not both"):
        load(EngineSettings, {"DET_MODEL_DIR": str(good), "MODEL_PATH": str(tmp_path / "x.onnx")})


def test_fine_tuned_folders_keep_their_base_names_in_a_triton_repository(tmp_path: Path) -> None:
    """REC_MODEL_DIR and DET_MODEL_DIR together: both files are model.onnx, their
    repository names come from what they were fine-tuned from."""
    from textdetector.export.triton import triton_model_name

    det = folder(tmp_path / "det")
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "model.onnx").write_bytes(b"onnx")
    (rec / "manifest.json").write_text(json.dumps({"base_model": "PP-OCRv6_rec_small.onnx"}))
    assert triton_model_name(det / "model.onnx") == "text_det"
    assert triton_model_name(rec / "model.onnx") == "text_rec"
    assert triton_model_name(tmp_path / "mine.onnx") == "mine"
