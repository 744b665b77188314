"""Switching the recogniser live (the twin's `recModelDir`): only to a folder whose gates
passed for exactly its model file, between frames, and never losing a frame."""

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
    RecognizerSettings,
    Settings,
    SourceSettings,
)
from textdetector.control.live import LiveSettings
from textdetector.detector import TextDetector
from textdetector.pipeline import LoopOptions, process
from textdetector.recognizer import TextRecognizer
from textdetector.recognizer.reading import read_regions
from textdetector.results import Detections
from textdetector.sources import open_source
from textdetector.training import gate_record

OTHER = LOCAL_DATA / "ch_PP-OCRv4_rec_infer.onnx"  # stands in for a fine-tuned model


def model_dir(tmp_path: Path, passed: bool = True) -> Path:
    """A train-rec style folder holding the PP-OCRv4 recogniser, with a gate record."""
    if not OTHER.is_file():
        pytest.skip("PP-OCRv4 recogniser missing: run `make setup`")
    folder = tmp_path / "rec-displays"
    folder.mkdir(parents=True)
    shutil.copyfile(OTHER, folder / "model.onnx")
    (folder / "manifest.json").write_text(json.dumps({"format": "textdetector-rec"}))
    gate_record.write(folder, [{"name": "domain val exact lines", "met": passed}])
    return folder


def test_the_gate_record_lets_only_this_model_file_through(tmp_path: Path) -> None:
    folder = model_dir(tmp_path)
    assert gate_record.refusal(folder) == ""
    with (folder / "model.onnx").open("ab") as handle:
        handle.write(b"\0")  # retrained or edited after its gates
    assert "changed after its gates" in gate_record.refusal(folder)
    failed = model_dir(tmp_path / "b", passed=False)
    assert "not all met" in gate_record.refusal(failed)
    (failed / "gate.json").unlink()
    assert "no gate.json" in gate_record.refusal(failed)
    (failed / "gate.json").write_text("{not json")
    assert "not readable" in gate_record.refusal(failed)
    assert "no model.onnx" in gate_record.refusal(tmp_path / "nowhere")


def test_live_settings_refuse_a_folder_that_did_not_pass_and_report_the_current_one(
    tmp_path: Path,
) -> None:
    live = LiveSettings(Settings())
    assert live.snapshot()["recModelDir"] == ""
    failed = model_dir(tmp_path, passed=False)
    assert "not all met" in live.update({"recModelDir": str(failed)})["recModelDir"]
    assert live.poll().recognizer is None
    assert "expected a single" in live.update({"recModelDir": [1]})["recModelDir"]
    folder = model_dir(tmp_path / "ok")
    assert live.update({"recModelDir": str(folder)}) == {}
    assert live.poll().recognizer.rec_model_dir == folder
    assert live.snapshot()["recModelDir"] == str(folder)
    assert live.update({"recModelDir": ""}) == {}  # back to the MODEL_SET's recogniser
    assert live.poll().recognizer.rec_model_dir is None
    no_text = LiveSettings(Settings(recognizer=RecognizerSettings(read_text=False)))
    assert "not used" in no_text.update({"recModelDir": str(folder)})["recModelDir"]


def run_switching(clip: Path, value: str):
    settings = Settings(source=SourceSettings(camera_path=str(clip)))
    live = LiveSettings(settings)
    sink = SwitchingSink(live, "recModelDir", value)
    opened: list[TextRecognizer] = []

    def opener(rec: RecognizerSettings) -> TextRecognizer:
        opened.append(TextRecognizer.open(rec))
        return opened[-1]

    first = TextRecognizer.open(settings.recognizer)
    with TextDetector.open(EngineSettings(threads=1), DetectorSettings()) as detector:
        process(
            detector,
            [open_source(settings.source)],
            [sink],
            options=LoopOptions(read_ahead=1),
            live=live,
            recognizer=first,
            recognizer_opener=opener,
        )
    return live, sink.results, first, opened


@pytest.mark.slow
def test_the_loop_switches_to_the_new_recogniser_between_frames(tmp_path, demo_text_clip):
    """The real models on demo frames: after the switch the frames are read by the new
    model (the same boxes read again by it give the same texts), the old one is closed
    and no frame is lost."""
    folder = model_dir(tmp_path)
    live, results, first, opened = run_switching(demo_text_clip(6), str(folder))
    assert [r.index for r in results] == list(range(6))
    assert live.rejected == {}
    assert len(opened) == 1 and opened[0].settings.rec_model_dir == folder
    assert first._closed and not getattr(opened[0], "_closed", False)
    last = next(r for r in reversed(results) if r.detections.texts)
    boxes = Detections(last.detections.boxes, last.detections.scores, last.detections.image_size)
    (again,), _ = read_regions(opened[0], [last.image], [boxes])
    assert again.texts == last.detections.texts
    opened[0].close()


@pytest.mark.slow
def test_a_model_that_cannot_open_is_refused_and_the_old_recogniser_stays(
    tmp_path, demo_text_clip
) -> None:
    folder = model_dir(tmp_path)
    (folder / "model.onnx").write_bytes(b"not an onnx model")
    gate_record.write(folder, [{"met": True}])  # the record matches this (broken) file
    live, results, first, opened = run_switching(demo_text_clip(4), str(folder))
    assert len(results) == 4 and opened == []
    assert "recModelDir" in live.rejected
    assert live.snapshot()["recModelDir"] == ""  # the twin hears the model still running
    assert not getattr(first, "_closed", False)
    first.close()
    assert all(r.detections.texts for r in results)  # the old recogniser kept reading


def test_switching_often_holds_at_most_two_recognisers_and_the_run_closes_them():
    """The run's side of a live recModelDir (pipeline/run.py): every switch used to add
    the new recogniser to the run's exit stack, so each one a switch had closed stayed
    referenced until the run ended. Plain objects stand in for recognisers here: what
    is checked is who keeps a reference, not reading."""
    from textdetector.pipeline.run import SwitchedRecognizers

    class Fake:
        def __init__(self, settings):
            self.settings, self.closed = settings, False

        def close(self):
            self.closed = True

    switched = SwitchedRecognizers(Fake)
    current = None
    for n in range(50):
        new = switched.open(n)
        if n % 7 == 3:  # refused (the zones did not fit): the loop closes the new one
            new.close()
            continue
        if current is not None:
            current.close()  # the loop closes the one it replaced
        current = new
        assert len(switched.held) <= 2
    assert switched.held[-1] is current and not current.closed
    switched.close()
    assert current.closed and switched.held == []


@pytest.mark.slow
def test_a_whole_run_switches_through_its_opener_and_closes_what_it_opened(
    tmp_path, demo_text_clip, monkeypatch
):
    """`run()` with the real models: a sink asks for the switch as the twin would (the
    IoT Hub sinks are replaced by it, nothing else); the recogniser the run opened for
    it reads the rest of the frames and is closed when the run ends."""
    import importlib

    from textdetector.config import OutputSettings

    run_module = importlib.import_module("textdetector.pipeline.run")  # the module

    folder = model_dir(tmp_path)
    made: list[TextRecognizer] = []
    sinks: list[SwitchingSink] = []
    real_open = run_module.SwitchedRecognizers.open

    def spy(self, settings: RecognizerSettings) -> TextRecognizer:
        made.append(real_open(self, settings))
        return made[-1]

    def build_sinks(settings, live, health, budget):
        sinks.append(SwitchingSink(live, "recModelDir", str(folder)))
        return list(sinks)

    monkeypatch.setattr(run_module.SwitchedRecognizers, "open", spy)
    monkeypatch.setattr(run_module, "build_sinks", build_sinks)
    clip = demo_text_clip(4)
    settings = Settings(source=SourceSettings(camera_path=str(clip)), output=OutputSettings())
    summary = run_module.run(settings)
    assert summary.frames == 4 and len(sinks[0].results) == 4
    assert len(made) == 1 and made[0].settings.rec_model_dir == folder
    assert made[0].closed  # by the run, at its end
