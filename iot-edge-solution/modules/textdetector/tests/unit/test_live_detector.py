"""Switching the detector live (the twin's `detModelDir`): only to a gated train-det
folder fine-tuned from the running model, between frames, never losing a frame."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from recording_sink import SwitchingSink

from textdetector.config import (
    LOCAL_DATA,
    DetectorSettings,
    EngineSettings,
    Settings,
    SourceSettings,
)
from textdetector.control.live import LiveSettings
from textdetector.detector import TextDetector
from textdetector.pipeline import process
from textdetector.results import FrameResult
from textdetector.sources import open_source
from textdetector.training import gate_record

V6 = LOCAL_DATA / "PP-OCRv6_det_small.onnx"
V4 = LOCAL_DATA / "ch_PP-OCRv4_det_infer.onnx"


def det_folder(root: Path, base: Path = V6, passed: bool = True, kind: str = "det") -> Path:
    """A train-det style folder holding a copy of a shipped detector (a stand-in for a
    fine-tune of it: the same weights), with a gate record."""
    if not base.is_file():
        pytest.skip(f"{base.name} missing: run `make setup`")
    root.mkdir(parents=True)
    shutil.copyfile(base, root / "model.onnx")
    manifest = {"format": f"textdetector-{kind}", "base_model": base.name}
    (root / "manifest.json").write_text(json.dumps(manifest))
    gate_record.write(root, [{"name": "val F1", "met": passed}])
    return root


def test_live_settings_take_only_a_gated_train_det_folder(tmp_path: Path) -> None:
    live = LiveSettings(Settings())
    assert live.snapshot()["detModelDir"] == ""
    failed = det_folder(tmp_path / "failed", passed=False)
    assert "not all met" in live.update({"detModelDir": str(failed)})["detModelDir"]
    rec = det_folder(tmp_path / "rec", kind="rec")
    assert "not a train-det folder" in live.update({"detModelDir": str(rec)})["detModelDir"]
    det = det_folder(tmp_path / "det-a")
    assert "not a train-rec folder" in live.update({"recModelDir": str(det)})["recModelDir"]
    assert live.poll().engine is None
    assert live.update({"detModelDir": str(det)}) == {}
    engine = live.poll().engine
    assert engine.det_model_dir == det and engine.model_path == det / "model.onnx"
    assert engine.model_label == "det-a/model.onnx"
    assert live.snapshot()["detModelDir"] == str(det)
    assert live.update({"detModelDir": ""}) == {}  # back to the DET_MODEL's file
    assert live.poll().engine.model_path == V6
    own = LiveSettings(Settings(engine=EngineSettings(model_path=V4)))
    assert "MODEL_PATH" in own.update({"detModelDir": str(det)})["detModelDir"]


def run_switching(clip: Path, value: str) -> tuple[LiveSettings, list[FrameResult], EngineSettings]:
    settings = Settings(source=SourceSettings(camera_path=str(clip)))
    live = LiveSettings(settings)
    sink = SwitchingSink(live, "detModelDir", value)
    with TextDetector.open(EngineSettings(threads=1), DetectorSettings()) as detector:
        process(detector, [open_source(settings.source)], [sink], live=live)
        engine = detector.engine_settings
    return live, sink.results, engine


@pytest.mark.slow
def test_the_loop_switches_the_detector_between_frames(tmp_path, demo_text_clip) -> None:
    """The real model on demo frames: after the switch every frame is detected by the
    folder's model (the same weights: the same boxes as before it), no frame is lost,
    and outputs name the folder."""
    folder = det_folder(tmp_path / "det-displays")
    live, results, engine = run_switching(demo_text_clip(6), str(folder))
    assert [r.index for r in results] == list(range(6))
    assert live.rejected == {} and engine.model_path == folder / "model.onnx"
    assert engine.threads == 1  # as the run opened its detector: only the folder changed
    assert live.model == "det-displays/model.onnx"
    assert all(len(r.detections) for r in results)


@pytest.mark.slow
def test_a_fine_tune_of_another_model_or_a_broken_file_is_refused_and_the_detector_stays(
    tmp_path, demo_text_clip
) -> None:
    """A PP-OCRv4 fine-tune takes another policy (frames are already prepared for this
    one); a file that cannot be opened fails at open: both rejected, the twin's value
    goes back to the running model and detection goes on."""
    clip = demo_text_clip(4)
    other = det_folder(tmp_path / "v4", base=V4)
    live, results, engine = run_switching(clip, str(other))
    assert "another policy" in live.rejected["detModelDir"] and engine.model_path == V6
    assert live.snapshot()["detModelDir"] == "" and len(results) == 4
    broken = det_folder(tmp_path / "broken")
    (broken / "model.onnx").write_bytes(b"not an onnx model")
    gate_record.write(broken, [{"met": True}])  # the record matches this (broken) file
    live, results, engine = run_switching(clip, str(broken))
    assert "detModelDir" in live.rejected and engine.model_path == V6
    assert live.snapshot()["detModelDir"] == ""
    assert len(results) == 4 and all(len(r.detections) for r in results)
