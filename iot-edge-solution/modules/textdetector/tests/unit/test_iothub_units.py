"""IoT Hub messaging pieces without a broker: format, schema, size, rate, outbox, twin."""

from __future__ import annotations

import json
import threading

import jsonschema
import numpy as np
import pytest

from textdetector.config import (
    DEFAULT_MODEL,
    DEFAULT_VIDEO,
    DetectorSettings,
    EngineSettings,
    IoTHubSettings,
    Settings,
    SourceSettings,
)
from textdetector.control.live import LiveSettings
from textdetector.control.twin import TwinService, apply_desired
from textdetector.detector import TextDetector
from textdetector.errors import ConfigError
from textdetector.pipeline import LoopOptions, process
from textdetector.results import Detections, FrameResult
from textdetector.sinks.delivery import wait_until
from textdetector.sinks.iothub import (
    SCHEMA_PATH,
    Outbox,
    RateControl,
    build_messages,
    create_client,
)
from textdetector.sinks.iothub.client import in_edge
from textdetector.sources import open_source

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def result(regions: int, shift: float = 0.0, size=(720, 1280)) -> FrameResult:
    boxes = np.array(
        [
            [
                [10 + shift, 10 + 12 * i],
                [90 + shift, 10 + 12 * i],
                [90 + shift, 20 + 12 * i],
                [10 + shift, 20 + 12 * i],
            ]
            for i in range(regions)
        ],
        np.float32,
    ).reshape(-1, 4, 2)
    det = Detections(boxes, np.linspace(0.6, 0.99, regions).astype(np.float32), size)
    return FrameResult(7, 1.5, "cam0", det)


def test_message_is_ava_inference_format_and_valid():
    [msg] = build_messages(result(2), "detections", 3, "m.onnx", "onnxruntime")
    body = msg.to_json()
    jsonschema.validate(body, SCHEMA)
    entity = body["inferences"][0]["entity"]
    assert entity["box"] == {
        "l": round(10 / 1280, 5),
        "t": round(10 / 720, 5),
        "w": round(80 / 1280, 5),
        "h": round(10 / 720, 5),
    }
    polygon = body["inferences"][0]["extensions"]["polygon"]
    assert polygon == "10.0,10.0 90.0,10.0 90.0,20.0 10.0,20.0"
    assert msg.properties == {
        "kind": "detections",
        "frameTimestamp": "1.500",
        "sourceId": "cam0",
        "model": "m.onnx",
        "backend": "onnxruntime",
        "seq": "3",
        "part": "1/1",
        "schemaVersion": "2.0",
        "reused": "false",
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "inferences": [{"type": "entity"}]}, SCHEMA)


def test_large_frames_are_split_under_256_kb_and_flagged():
    big = result(3000)
    messages = build_messages(big, "detections", 0, "m", "b")
    assert len(messages) > 1
    bodies = [m.to_json() for m in messages]
    assert all(len(m.body) <= 252 * 1024 for m in messages)
    assert [b["part"] for b in bodies] == list(range(1, len(bodies) + 1))
    assert {b["parts"] for b in bodies} == {len(bodies)}
    assert sum(len(b["inferences"]) for b in bodies) == 3000
    for body in bodies:
        jsonschema.validate(body, SCHEMA)
    [tiny] = build_messages(result(5), "detections", 0, "m", "b", max_body=200)
    assert tiny.to_json()["truncated"] is True and tiny.to_json()["inferences"] == []


def test_rate_control_sends_on_change_and_summarises_each_interval():
    rate = RateControl("change", iou=0.5)
    sent = [rate.decide(result(2).detections, t, 10.0).detections for t in (0, 1, 2)]
    assert sent == [True, False, False]  # the same regions are not sent again
    assert rate.decide(result(2, shift=200).detections, 3, 10.0).detections  # they moved
    assert rate.decide(result(3, shift=200).detections, 4, 10.0).detections  # one more
    decision = rate.decide(result(3, shift=200).detections, 10.5, 10.0, dropped=4)
    assert decision.summary is not None and not decision.detections
    assert decision.summary["frames"] == 6 and decision.summary["dropped"] == 4
    assert decision.summary["regionsMin"] == 2 and decision.summary["regionsMax"] == 3
    every = RateControl("every")
    assert all(every.decide(result(1).detections, t, 10.0).detections for t in (0, 1))
    interval = RateControl("interval")
    assert not interval.decide(result(1, shift=50).detections, 0, 1.0).detections


def test_outbox_holds_while_down_drops_oldest_and_delivers_in_order():
    """The transport is a local function that fails while `up` is clear."""
    up = threading.Event()
    delivered: list[int] = []

    def send(item: int) -> None:
        if not up.is_set():
            raise ConnectionError("offline")
        delivered.append(item)

    box = Outbox(send, maxsize=5, backoff_s=0.01, max_backoff_s=0.05).start()
    for i in range(8):
        box.put(i)
    assert wait_until(lambda: box.failures >= 2, 5) and delivered == []
    up.set()
    assert wait_until(lambda: len(delivered) == 5, 5)
    assert delivered == [3, 4, 5, 6, 7] and box.dropped == 3 and box.sent == 5
    assert box.close(1.0) == 0


def test_outbox_keeps_a_message_in_flight_and_drops_the_next_oldest():
    """A send in progress cannot be recalled: overflow drops the oldest one still waiting."""
    sending, release = threading.Event(), threading.Event()
    delivered: list[int] = []

    def send(item: int) -> None:
        sending.set()
        release.wait(5)
        delivered.append(item)

    box = Outbox(send, maxsize=3).start()
    box.put(0)
    assert sending.wait(5)
    for i in range(1, 6):
        box.put(i)
    release.set()
    assert wait_until(lambda: len(delivered) == 3, 5)
    assert delivered == [0, 4, 5] and box.dropped == 3
    assert box.close(1.0) == 0


def test_outbox_close_gives_up_after_the_timeout():
    box = Outbox(
        lambda item: (_ for _ in ()).throw(ConnectionError("down")),
        maxsize=10,
        backoff_s=0.01,
        max_backoff_s=0.02,
    ).start()
    box.put(1)
    box.put(2)
    assert box.close(0.2) == 2


def test_live_settings_validate_and_report():
    live = LiveSettings(Settings())
    rejected = live.update(
        {
            "detThresh": 0.5,
            "limitSideLen": 5000,
            "nope": 1,
            "sendInterval": "15",
            "cameraPath": {"a": 1},
        }
    )
    assert set(rejected) == {"limitSideLen", "nope", "cameraPath"}
    assert "4096" in rejected["limitSideLen"]
    assert live.get("detThresh") == 0.5 and live.get("sendInterval") == 15.0
    update = live.poll()
    assert update.detector.det_thresh == 0.5 and update.source is None
    assert live.poll().detector is None  # taken once


def test_twin_acks_and_methods_without_transport():
    live = LiveSettings(Settings(), backend="onnxruntime")
    acks = apply_desired(live, {"$version": 4, "boxThresh": 0.7, "detThresh": 2})
    assert acks["boxThresh"] == {"value": 0.7, "ac": 200, "av": 4, "ad": "applied"}
    assert acks["detThresh"]["ac"] == 400
    service = TwinService(None, live, lambda: {"fps": 1.0}, lambda: None)
    assert service.handle_method("getStatus", None) == (200, {"fps": 1.0})
    assert service.handle_method("getLastDetections", None)[0] == 404
    status, payload = service.handle_method("restart", None)
    assert status == 404 and "getStatus" in payload["error"]


def test_client_factory_modes():
    assert create_client(IoTHubSettings(), environ={}) is None
    with pytest.raises(ConfigError, match="IOTHUB_CONNECTION_STRING"):
        create_client(IoTHubSettings(connection_string="HostName=x"), environ={})
    with pytest.raises(ConfigError, match="IOTHUB_CA_CERT"):
        create_client(
            IoTHubSettings(
                connection_string="HostName=h;DeviceId=d;SharedAccessKey=a2V5",
                ca_cert="missing.pem",
            ),
            environ={},
        )
    client = create_client(
        IoTHubSettings(connection_string="HostName=h;DeviceId=d;SharedAccessKey=a2V5"), environ={}
    )
    assert client.mode == "device"
    client.sdk.shutdown()
    assert in_edge(
        {"IOTEDGE_WORKLOADURI": "unix:///w", "IOTEDGE_MODULEID": "m", "IOTEDGE_DEVICEID": "d"}
    )
    assert not in_edge({"IOTEDGE_MODULEID": "m"})


class Collect:
    def __init__(self) -> None:
        self.results: list[FrameResult] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def write(self, res: FrameResult) -> None:
        self.results.append(res)


@pytest.mark.skipif(
    not (DEFAULT_MODEL.exists() and DEFAULT_VIDEO.exists()),
    reason="model or demo video missing: run `make setup`",
)
@pytest.mark.slow
def test_pipeline_applies_live_changes_between_frames():
    """A real detector on demo frames: thresholds change, then the source is switched."""
    settings = Settings(source=SourceSettings(camera_path=str(DEFAULT_VIDEO)))
    live = LiveSettings(settings)
    sink = Collect()
    rejected: dict[str, str] = {}

    class Changer(Collect):
        def write(self, res: FrameResult) -> None:
            if len(sink.results) == 1:
                live.update({"limitSideLen": 320, "cameraPath": "no-such-file.mp4"})
            if res.index == 1 and len(sink.results) == 2:
                rejected.update(live.rejected)
                live.update({"cameraPath": str(DEFAULT_VIDEO)})

    detector = TextDetector.open(EngineSettings(threads=1), DetectorSettings())
    with detector:
        summary = process(
            detector,
            [open_source(settings.source)],
            [sink, Changer()],
            options=LoopOptions(max_frames=4),
            live=live,
        )
    assert summary.frames == 4
    assert detector.settings.limit_side_len == 320
    assert "no-such-file" in rejected["cameraPath"]  # kept the current source
    assert live.rejected == {}
    # switched back to frame 0; a frame already inferring when the switch came (the loop
    # overlaps one batch) is finished and delivered first: nothing is lost
    indices = [r.index for r in sink.results]
    assert indices[:2] == [0, 1] and indices[2:] in ([0, 1], [2, 0]), indices
