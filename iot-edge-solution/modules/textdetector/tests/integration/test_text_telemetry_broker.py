"""Readings and text events reach the hub: the real module loop, real detection and
recognition, the real IoT Hub SDK and a real TLS mosquitto (see mqtt_broker.py)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from mqtt_broker import CONNECTION_STRING

from textdetector.config import IoTHubSettings, OutputSettings, Settings, SourceSettings
from textdetector.pipeline import run
from textdetector.sinks.iothub import SCHEMA_PATH

SCHEMA = json.loads(Path(SCHEMA_PATH).read_text())


def squeeze(text: str) -> str:
    return text.replace(" ", "")


def run_to_hub(clip: Path, frames: int, ca: Path, **iothub) -> None:
    settings = Settings(
        source=SourceSettings(camera_path=str(clip), max_frames=frames),
        output=OutputSettings(quiet=True, summary_interval=600.0),
        iothub=IoTHubSettings(
            connection_string=CONNECTION_STRING,
            ca_cert=str(ca),
            flush_timeout=20.0,
            report_interval=600.0,
            **iothub,
        ),
    )
    assert run(settings, threading.Event()).frames == frames


def bodies(hub, kind: str) -> list[dict]:  # noqa: F811
    found = [t.json() for t in hub.telemetry if t.properties.get("kind") == kind]
    for body in found:
        jsonschema.validate(body, SCHEMA)
    return found


def truth_lines(demo_truth: list[dict], frames: range) -> set[str]:
    return {squeeze(line["text"]) for f in frames for line in demo_truth[f]["lines"]}


def test_telemetry_carries_the_text_of_each_region(
    broker,
    hub,
    demo_text_clip,  # noqa: F811
    demo_truth,
):
    run_to_hub(demo_text_clip(2, first=20), 2, broker.ca, send_mode="every")
    assert hub.wait_for(lambda: len(bodies(hub, "detections")) >= 2, 20)
    sent = bodies(hub, "detections")
    assert all(b["schemaVersion"] == "2.0" for b in sent)
    assert all(t.properties["schemaVersion"] == "2.0" for t in hub.telemetry)
    read = {squeeze(i["extensions"]["text"]) for b in sent for i in b["inferences"]}
    expected = truth_lines(demo_truth, range(20, 22))
    assert len(expected) == 3 and expected <= read, (expected, read)


def test_text_events_replace_per_frame_messages(
    broker,
    hub,
    demo_text_clip,  # noqa: F811
    demo_truth,
):
    """Two frames, the same three lines: three textAppearance messages at shutdown."""
    run_to_hub(
        demo_text_clip(2, first=20),
        2,
        broker.ca,
        send_mode="every",
        text_events=True,
        text_event_min_frames=2,
    )
    assert hub.wait_for(lambda: len(bodies(hub, "textAppearance")) >= 3, 20)
    appearances = bodies(hub, "textAppearance")
    assert bodies(hub, "detections") == []
    assert sorted(squeeze(a["text"]) for a in appearances) == sorted(
        truth_lines(demo_truth, range(20, 22))
    )
    for a in appearances:
        assert (a["firstFrame"], a["lastFrame"], a["frames"]) == (0, 1, 2)
        assert a["bestScore"] >= 0.5 and a["bestFrame"] in (0, 1)
        assert (a["width"], a["height"]) == (1280, 720) and 0 < a["box"]["w"] < 1


def every_nth_frame_clip(video: Path, folder: Path, step: int) -> tuple[Path, int]:
    """The demo video at 1/step of its frame rate (a live source dropping frames), stored
    losslessly (FFV1) so the frames kept are the pixels of the original."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    kept = frames[::step]
    path = folder / f"demo_every_{step}.avi"
    height, width = kept[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 15 / step, (width, height))
    for image in kept:
        writer.write(image)
    writer.release()
    return path, len(kept)


def truth_appearances(demo_truth: list[dict]) -> list[str]:
    """The text of each on-screen run of each truth line (consecutive frames)."""
    runs: list[str] = []
    open_lines: set[str] = set()
    for record in demo_truth:
        now = {line["text"] for line in record["lines"]}
        runs += sorted(now - open_lines)
        open_lines = now
    return runs


@pytest.mark.slow
def test_demo_video_appearances_match_the_truth(
    broker,
    hub,
    demo_video,  # noqa: F811
    demo_truth,
    tmp_path,
):
    """Every 6th demo frame (30 frames) through the module to the hub with TEXT_EVENTS:
    one message per line appearance of the ground truth (each line twice: the video
    blanks for a second at 6 s, 2-3 frames here, more than TEXT_EVENT_GAP=2)."""
    clip, count = every_nth_frame_clip(demo_video, tmp_path, 6)
    run_to_hub(clip, count, broker.ca, text_events=True, text_event_gap=2, text_event_min_frames=3)
    expected = Counter(squeeze(t) for t in truth_appearances(demo_truth))
    assert sum(expected.values()) == 12
    assert hub.wait_for(lambda: len(bodies(hub, "textAppearance")) >= 12, 20)
    sent = Counter(squeeze(a["text"]) for a in bodies(hub, "textAppearance"))
    assert sum(sent.values()) - 12 <= 1, sent  # at most one stray fragment
    assert sent & expected == expected, (sent, expected)
    assert bodies(hub, "detections") == []
