"""Readings in IoT Hub telemetry (schema 2.0) and text events: pure message building."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from textdetector.config import load_settings
from textdetector.errors import ConfigError
from textdetector.recognizer.events import Appearance
from textdetector.results import Detections, FrameResult
from textdetector.sinks.delivery import TextEvents
from textdetector.sinks.iothub import SCHEMA_PATH
from textdetector.sinks.iothub.message import SCHEMA_VERSION, build_messages, build_text_appearance

SCHEMA = json.loads(Path(SCHEMA_PATH).read_text())
SCHEMA_V1 = json.loads((Path(__file__).parents[1] / "data" / "message.schema.v1.json").read_text())


def frame(
    index: int, texts: tuple[str, ...] | None, x: float = 10.0, source: str = "cam"
) -> FrameResult:
    boxes = np.array(
        [
            [[x, 10], [x + 100, 10], [x + 100, 30], [x, 30]],
            [[x, 50], [x + 60, 50], [x + 60, 70], [x, 70]],
        ],
        np.float32,
    )
    det = Detections(boxes, np.array([0.9, 0.8], np.float32), (480, 640))
    if texts is not None:
        det = det.with_texts(texts, np.array([0.97, 0.2], np.float32))
    return FrameResult(index, index / 15, source, det)


def body(result: FrameResult) -> dict:
    [message] = build_messages(result, "detections", 3, "det.onnx", "onnxruntime")
    assert message.properties["schemaVersion"] == SCHEMA_VERSION == "2.0"
    return message.to_json()


def test_each_entity_carries_its_reading():
    doc = body(frame(0, ("GATE 7", "")))
    jsonschema.validate(doc, SCHEMA)
    assert doc["schemaVersion"] == "2.0"
    first, second = (i["extensions"] for i in doc["inferences"])
    assert (first["text"], first["textConfidence"]) == ("GATE 7", "0.9700")
    assert (second["text"], second["textConfidence"]) == ("", "0.2000")


def test_a_1_0_reader_still_reads_2_0_messages():
    """Old consumers: every 1.0 field is there unchanged; only additions are new."""
    doc = body(frame(0, ("Ünïcode 注意", "x")))
    old = {k: v for k, v in doc.items() if k != "schemaVersion"}
    jsonschema.validate(old, SCHEMA_V1)  # the readings sit in the open `extensions`
    assert set(doc) - set(old) == {"schemaVersion"}
    assert doc["inferences"][0]["extensions"]["text"] == "Ünïcode 注意"


def test_without_reading_no_text_fields():
    doc = body(frame(0, None))
    jsonschema.validate(doc, SCHEMA)
    assert all(set(i["extensions"]) == {"polygon"} for i in doc["inferences"])


def test_text_appearance_message():
    appearance = Appearance(
        "GATE 7", 3, 40, 0.2, 2.667, "GATE 7", 0.98, 12, (64.0, 48.0, 320.0, 96.0), 35
    )
    message = build_text_appearance(appearance, "cam", (480, 640), 9, "det.onnx", "ort")
    doc = message.to_json()
    jsonschema.validate(doc, SCHEMA)
    assert message.properties["kind"] == "textAppearance" == doc["kind"]
    assert message.properties["sourceId"] == "cam" and message.properties["seq"] == "9"
    assert doc["box"] == {"l": 0.1, "t": 0.1, "w": 0.4, "h": 0.1}
    counts = (doc["firstFrame"], doc["lastFrame"], doc["bestFrame"], doc["frames"])
    assert counts == (3, 40, 12, 35)
    assert (doc["firstSeen"], doc["lastSeen"]) == (0.2, 2.667)
    bad = dict(doc, text="")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_text_events_per_source_and_flush_at_close():
    events = TextEvents(max_gap=1, min_frames=2)
    for i in range(4):  # "GATE 7" on two sources; the unread second box never counts
        assert events.update(frame(i, ("GATE 7", ""), x=10 + i)) == []
        assert events.update(frame(i, ("GATE 7", ""), source="other")) == []
    events.update(frame(4, ("EXIT", "")))  # another text in the same place: a new line
    ended = events.update(frame(6, ("", "")))  # gap > 1: cam's lines end
    assert [(e.appearance.text, e.source_id, e.appearance.frames) for e in ended] == [
        ("GATE 7", "cam", 4)
    ]  # EXIT was read in 1 frame < min_frames: not reported
    [last] = events.close()
    assert (last.source_id, last.appearance.last_frame, last.image_size) == ("other", 3, (480, 640))
    assert events.close() == []


def test_text_events_restart_when_frame_numbers_go_back():
    events = TextEvents(max_gap=100, min_frames=1)
    events.update(frame(7, ("A", "")))
    [ended] = events.update(frame(0, ("A", "")))
    assert ended.appearance.last_frame == 7


def test_text_events_need_read_text():
    with pytest.raises(ConfigError, match="TEXT_EVENTS=true needs READ_TEXT=true"):
        load_settings({"TEXT_EVENTS": "true", "READ_TEXT": "false"})
    settings = load_settings({"TEXT_EVENTS": "1", "TEXT_EVENT_GAP": "8"})
    assert settings.iothub.text_events and settings.iothub.text_event_gap == 8
    assert settings.iothub.text_event_min_frames == 3
