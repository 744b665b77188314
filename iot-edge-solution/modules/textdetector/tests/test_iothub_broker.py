"""IoT Hub messaging against a real TLS mosquitto playing the IoT Hub endpoint.

The real azure-iot-device client connects (server_verification_cert = the test CA);
a paho-mqtt client plays the hub side (see mqtt_broker.py).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from mqtt_broker import CONNECTION_STRING, MODULE, broker, hub  # noqa: F401
from textdetector.config import (DEFAULT_VIDEO, IoTHubSettings, OutputSettings, Settings,
                                 SourceSettings)
from textdetector.iothub import SCHEMA_PATH, IoTHubSink, create_client
from textdetector.iothub.outbox import wait_until
from textdetector.live import LiveSettings
from textdetector.pipeline import run
from textdetector.results import Detections, FrameResult

SCHEMA = json.loads(Path(SCHEMA_PATH).read_text())


def hub_settings(ca: Path, **kw) -> IoTHubSettings:
    return IoTHubSettings(connection_string=CONNECTION_STRING, ca_cert=str(ca), **kw)


def synthetic(index: int, regions: int = 3) -> FrameResult:
    """A frame result from a fake detector stream: `regions` boxes that move each frame."""
    boxes = np.array([[[10 + index + 50 * i, 10], [40 + index + 50 * i, 10],
                       [40 + index + 50 * i, 30], [10 + index + 50 * i, 30]]
                      for i in range(regions)], np.float32).reshape(-1, 4, 2)
    det = Detections(boxes, np.full((regions,), 0.9, np.float32), (480, 640))
    return FrameResult(index, index / 25.0, "synthetic", det)


def check_message(item) -> dict:
    body = item.json()
    jsonschema.validate(body, SCHEMA)
    props = item.properties
    assert props["$.ct"] == "application/json" and props["$.ce"] == "utf-8"
    assert props["$.on"] == "detections"
    for key in ("frameTimestamp", "sourceId", "model", "backend", "seq", "kind"):
        assert props[key], key
    assert props["seq"] == str(body["seq"]) and props["sourceId"] == body["frame"]["sourceId"]
    return body


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory) -> Path:
    """Four frames of the demo video where text is visible (frames 15-18), as a clip."""
    import cv2

    if not DEFAULT_VIDEO.exists():
        pytest.skip("the demo video is missing: run `make setup`")
    capture = cv2.VideoCapture(str(DEFAULT_VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 15)
    frames = [capture.read()[1] for _ in range(4)]
    capture.release()
    path = tmp_path_factory.mktemp("clip") / "demo_text.avi"
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def test_pipeline_sends_demo_frames_to_the_hub(broker, hub, demo_clip):  # noqa: F811
    settings = Settings(
        source=SourceSettings(camera_path=str(demo_clip), max_frames=4),
        output=OutputSettings(quiet=True, summary_interval=60.0),
        iothub=hub_settings(broker.ca, send_mode="every", flush_timeout=20.0))
    summary = run(settings, threading.Event())
    assert summary.frames == 4
    assert hub.wait_for(lambda: len(hub.telemetry) >= 4, 20)
    bodies = [check_message(t) for t in hub.telemetry]
    assert [b["frame"]["index"] for b in bodies] == [0, 1, 2, 3]
    assert all(t.topic.startswith(f"devices/edge-test/modules/{MODULE}/messages/events/")
               for t in hub.telemetry)
    assert bodies[0]["backend"] == "onnxruntime" or bodies[0]["backend"]
    assert bodies[0]["model"] == "ch_PP-OCRv4_det_infer.onnx"
    assert any(b["regionCount"] > 0 for b in bodies), "the demo video shows text"
    assert all(len(b["inferences"]) == b["regionCount"] for b in bodies)


def test_twin_patch_and_direct_methods(broker, hub):  # noqa: F811
    hub.desired = {"$version": 1, "sendInterval": 30}
    settings = Settings(iothub=hub_settings(broker.ca, report_interval=60.0))
    live = LiveSettings(settings, backend="onnxruntime")
    client = create_client(settings.iothub, environ={})
    with IoTHubSink(settings.iothub, live, client) as sink:
        assert wait_until(lambda: live.get("sendInterval") == 30.0, 20), "initial twin"
        assert hub.wait_for(lambda: hub.reported, 20)
        assert wait_until(lambda: sink.twin.reports >= 1, 10)
        status, payload = hub.invoke("getLastDetections")
        assert status == 404 and "no frame" in payload["error"]
        sink.write(synthetic(0))
        hub.patch_desired({"$version": 2, "detThresh": 0.45, "limitSideLen": "abc",
                           "cameraPath": ""})
        assert wait_until(lambda: live.get("detThresh") == 0.45, 10)
        assert hub.wait_for(lambda: any("detThresh" in r and "limitSideLen" in r
                                        for r in hub.reported), 20)
        report = next(r for r in hub.reported if "limitSideLen" in r)
        assert report["detThresh"] == {"value": 0.45, "ac": 200, "av": 2, "ad": "applied"}
        assert report["limitSideLen"]["ac"] == 400 and "integer" in report["limitSideLen"]["ad"]
        assert report["cameraPath"]["ac"] == 400
        assert live.get("limitSideLen") == 960
        assert report["version"] and report["model"] and report["backend"] == "onnxruntime"
        assert "drops" in report and "fps" in report
        status, payload = hub.invoke("getStatus")
        assert status == 200 and payload["settings"]["detThresh"] == 0.45
        assert payload["connection"] == "module"
        status, payload = hub.invoke("getLastDetections")
        assert status == 200 and payload["regionCount"] == 3
        jsonschema.validate(payload, SCHEMA)
        status, payload = hub.invoke("reboot")
        assert status == 404 and "reboot" in payload["error"] and "getStatus" in payload["error"]
