"""ZONES end to end through the real detector and reader: a generated gate frame with a
container code in one zone (iso6346), a date in another (date) and a sign outside; every
output names the zone; the module twin changes the zones between frames."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from textdetector.config import RecognizerSettings, Settings
from textdetector.control.live import LiveSettings
from textdetector.control.twin import apply_desired
from textdetector.pipeline.loop import process
from textdetector.recognizer import TextRecognizer
from textdetector.recognizer.zones import parse_zones
from textdetector.recognizer.zones.read import read_zoned
from textdetector.results import FrameResult
from textdetector.serve.formats import cv_reading
from textdetector.sinks.archive.naming import metadata
from textdetector.sinks.console import describe
from textdetector.sinks.iothub.message import reading_extensions
from textdetector.sinks.jsonl import JsonLinesSink
from textdetector.sources import Frame
from tools import make_container_set

DATE = "04.12.2026"
PANEL = 520  # width of the date panel right of the container photo
BELOW = 200  # height of the strip below with a sign outside every zone


@pytest.fixture(scope="module")
def gate(tmp_path_factory) -> tuple[np.ndarray, str]:
    """A frame: a rendered container code photo, a date beside it, `EXIT` below both."""
    folder = tmp_path_factory.mktemp("gate")
    truth = make_container_set.render(folder, 1)
    record = json.loads(truth.read_text(encoding="utf-8").splitlines()[0])
    photo = cv2.imread(str(truth.parent / record["image"]))
    height, width = photo.shape[:2]
    frame = np.full((height + BELOW, width + PANEL, 3), 255, np.uint8)
    frame[:height, :width] = photo
    cv2.putText(frame, DATE, (width + 40, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3)
    cv2.putText(frame, "EXIT", (40, height + 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
    return frame, record["code"]


def gate_zones(frame: np.ndarray, outside: str = "drop", names=("code", "date")) -> dict:
    height, width = frame.shape[0] - BELOW, frame.shape[1] - PANEL
    right = width + PANEL
    return {
        "outside": outside,
        "sources": {
            "gate": [
                {
                    "name": names[0],
                    "polygon": [[0, 0], [width, 0], [width, height], [0, height]],
                    "pattern": "iso6346",
                },
                {
                    "name": names[1],
                    "polygon": [[width, 0], [right, 0], [right, height], [width, height]],
                    "pattern": "date",
                },
            ]
        },
    }


@pytest.fixture(scope="module")
def default_detector():
    from textdetector.config import DetectorSettings, EngineSettings
    from textdetector.detector import TextDetector

    with TextDetector.open(EngineSettings(), DetectorSettings()) as det:
        yield det


def read(detector, frame, zones: dict):
    settings = RecognizerSettings(zones=parse_zones(zones))
    with TextRecognizer.open(settings) as rec:
        assert rec.zones is not None
        found, _ = detector.detect(frame)
        (out,), _ = read_zoned(rec, rec.zones, [("gate", frame, found)])
    return found, out


@pytest.mark.slow
def test_each_zone_reads_its_pattern_and_text_outside_is_dropped(default_detector, gate):
    frame, code = gate
    found, out = read(default_detector, frame, gate_zones(frame))
    assert len(found) >= 3  # the code, the date and EXIT were all detected
    assert out.texts == (code, DATE), out.texts
    assert out.zones == ("code", "date") and out.patterns == ("iso6346", "date")
    assert out.matched is not None and out.matched.tolist() == [True, True]
    result = FrameResult(0, 0.0, "gate", out, image=frame)
    as_dict = result.to_dict()
    assert as_dict["zones"] == ["code", "date"] and as_dict["patterns"] == ["iso6346", "date"]
    assert as_dict["texts"] == [code, DATE] and "EXIT" not in json.dumps(as_dict)
    assert reading_extensions(out, 0) | {} == {
        "text": code,
        "textConfidence": f"{float(out.text_scores[0]):.4f}",
        "rawText": out.raw_texts[0],
        "pattern": "iso6346",
        "matched": "true",
        "zone": "code",
    }
    assert cv_reading(out, 1)["zone"] == "date" and cv_reading(out, 1)["pattern"] == "date"
    assert f"'{code}'" in describe(result) and "iso6346 @code" in describe(result)
    meta = metadata(result, 0.0, "model", "route")
    assert meta["zones"] == "code,date" and meta["patterns"] == "iso6346,date"


def test_text_outside_every_zone_is_kept_when_asked(default_detector, gate, tmp_path):
    frame, code = gate
    _, out = read(default_detector, frame, gate_zones(frame, outside="keep"))
    assert code in out.texts and DATE in out.texts
    outside = [i for i, zone in enumerate(out.zones or ()) if zone == ""]
    assert [out.texts[i] for i in outside] == ["EXIT"]
    assert out.patterns is not None and [out.patterns[i] for i in outside] == [""]
    sink = JsonLinesSink(str(tmp_path / "out.jsonl"))
    with sink:
        sink.write(FrameResult(0, 0.0, "gate", out))
    line = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert sorted(line["zones"]) == ["", "code", "date"]


class Repeat:
    """A real frame source: the same frame `count` times, like a file."""

    def __init__(self, frame: np.ndarray, count: int) -> None:
        self.frame, self.count, self.index = frame, count, 0
        self.source_id, self.live = "gate", False

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        if self.index >= self.count:
            return None
        self.index += 1
        return Frame(self.index - 1, float(self.index), self.frame.copy())

    def close(self) -> None:
        pass


class TwinAfter:
    """A sink that records results and applies a desired patch after `after` of them."""

    def __init__(self, live: LiveSettings, after: int, patch: dict) -> None:
        self.live, self.after, self.patch = live, after, patch
        self.results: list[FrameResult] = []
        self.acks: dict = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def write(self, result: FrameResult) -> None:
        self.results.append(result)
        if len(self.results) == self.after:
            self.acks = apply_desired(self.live, self.patch)


def run_with_patch(detector, frame, patch: dict, frames: int = 4):
    settings = Settings(recognizer=RecognizerSettings(zones=parse_zones(gate_zones(frame))))
    live = LiveSettings(settings)
    sink = TwinAfter(live, 2, patch)
    with TextRecognizer.open(settings.recognizer) as rec:
        summary = process(detector, [Repeat(frame, frames)], [sink], live=live, recognizer=rec)
    return summary, sink, live


@pytest.mark.slow
def test_a_twin_update_changes_the_zones_between_frames(default_detector, gate):
    frame, code = gate
    renamed = gate_zones(frame, names=("lane", "stamp"))
    summary, sink, live = run_with_patch(default_detector, frame, {"zones": json.dumps(renamed)})
    assert summary.frames == 4 and sink.acks["zones"]["ac"] == 200 and live.rejected == {}
    zones = [r.detections.zones for r in sink.results]
    assert zones[:2] == [("code", "date")] * 2 and zones[2:] == [("lane", "stamp")] * 2
    assert all(r.detections.texts == (code, DATE) for r in sink.results)


@pytest.mark.slow
def test_a_bad_twin_value_is_rejected_and_the_old_zones_stay(default_detector, gate):
    frame, _ = gate
    crossing = gate_zones(frame)
    crossing["sources"]["gate"][0]["polygon"] = [[0, 0], [10, 10], [10, 0], [0, 10]]
    _, sink, live = run_with_patch(default_detector, frame, {"zones": crossing})
    assert sink.acks["zones"]["ac"] == 400 and "self-intersecting" in sink.acks["zones"]["ad"]
    assert [r.detections.zones for r in sink.results] == [("code", "date")] * 4
    # valid on paper, but past the 1160-pixel-wide frame: refused once bound to the frames
    wide = gate_zones(frame)
    wide["sources"]["gate"][1]["polygon"][1] = [frame.shape[1] + 50, 0]
    _, sink, live = run_with_patch(default_detector, frame, {"zones": wide})
    assert sink.acks["zones"]["ac"] == 200  # accepted by the parser ...
    assert "outside its" in live.rejected["zones"]  # ... refused by the pipeline
    assert [r.detections.zones for r in sink.results] == [("code", "date")] * 4
    assert live.zones == parse_zones(gate_zones(frame))


def test_a_source_its_zones_do_not_fit_is_stopped(default_detector, gate):
    frame, _ = gate
    small = frame[:100, :200].copy()
    settings = RecognizerSettings(zones=parse_zones(gate_zones(frame)))
    sink = TwinAfter(LiveSettings(Settings()), 0, {})
    from textdetector.errors import SourceError

    with TextRecognizer.open(settings) as rec, pytest.raises(SourceError, match="outside its"):
        process(default_detector, [Repeat(small, 3)], [sink], recognizer=rec)
    assert sink.results == []


@pytest.mark.parametrize("mode", ["frame", "region"])
@pytest.mark.slow
def test_zones_with_temporal_reuse(default_detector, gate, mode):
    """Unchanged frames carry the zoned result of the last inferred one."""
    from textdetector.pipeline.loop import LoopOptions
    from textdetector.temporal import ReusePolicy

    frame, code = gate
    settings = RecognizerSettings(zones=parse_zones(gate_zones(frame)))
    sink = TwinAfter(LiveSettings(Settings()), 0, {})
    options = LoopOptions(reuse=ReusePolicy(mode=mode))
    with TextRecognizer.open(settings) as rec:
        summary = process(
            default_detector, [Repeat(frame, 4)], [sink], options=options, recognizer=rec
        )
    assert summary.frames == 4 and any(r.reused for r in sink.results)
    assert all(r.detections.zones == ("code", "date") for r in sink.results)
    assert all(r.detections.texts == (code, DATE) for r in sink.results)
