"""IoT Hub messaging against a real TLS mosquitto playing the IoT Hub endpoint.

The real azure-iot-device client connects (server_verification_cert = the test CA);
a paho-mqtt client plays the hub side (see mqtt_broker.py).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jsonschema
import numpy as np
from mqtt_broker import CONNECTION_STRING, MODULE

from textdetector.config import IoTHubSettings, OutputSettings, Settings, SourceSettings
from textdetector.control.live import LiveSettings
from textdetector.pipeline import run
from textdetector.results import Detections, FrameResult
from textdetector.sinks.delivery import wait_until
from textdetector.sinks.iothub import SCHEMA_PATH, IoTHubSink, create_client

SCHEMA = json.loads(Path(SCHEMA_PATH).read_text())


def hub_settings(ca: Path, **kw) -> IoTHubSettings:
    return IoTHubSettings(connection_string=CONNECTION_STRING, ca_cert=str(ca), **kw)


def synthetic(index: int, regions: int = 3) -> FrameResult:
    """A frame result from a fake detector stream: `regions` boxes that move each frame."""
    boxes = np.array(
        [
            [
                [10 + index + 50 * i, 10],
                [40 + index + 50 * i, 10],
                [40 + index + 50 * i, 30],
                [10 + index + 50 * i, 30],
            ]
            for i in range(regions)
        ],
        np.float32,
    ).reshape(-1, 4, 2)
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


def test_pipeline_sends_demo_frames_to_the_hub(broker, hub, demo_text_clip):  # noqa: F811
    settings = Settings(
        source=SourceSettings(camera_path=str(demo_text_clip(4)), max_frames=4),
        output=OutputSettings(quiet=True, summary_interval=60.0),
        iothub=hub_settings(broker.ca, send_mode="every", flush_timeout=20.0),
    )
    summary = run(settings, threading.Event())
    assert summary.frames == 4
    assert hub.wait_for(lambda: len(hub.telemetry) >= 4, 20)
    bodies = [check_message(t) for t in hub.telemetry]
    assert [b["frame"]["index"] for b in bodies] == [0, 1, 2, 3]
    assert all(
        t.topic.startswith(f"devices/edge-test/modules/{MODULE}/messages/events/")
        for t in hub.telemetry
    )
    assert bodies[0]["backend"] == "onnxruntime" or bodies[0]["backend"]
    assert bodies[0]["model"] == "PP-OCRv6_det_small.onnx"  # DET_MODEL's default
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
        hub.patch_desired(
            {"$version": 2, "detThresh": 0.45, "limitSideLen": "abc", "cameraPath": ""}
        )
        assert wait_until(lambda: live.get("detThresh") == 0.45, 10)
        assert hub.wait_for(
            lambda: any("detThresh" in r and "limitSideLen" in r for r in hub.reported), 20
        )
        report = next(r for r in hub.reported if "limitSideLen" in r)
        assert report["detThresh"] == {"value": 0.45, "ac": 200, "av": 2, "ad": "applied"}
        assert report["limitSideLen"]["ac"] == 400 and "integer" in report["limitSideLen"]["ad"]
        assert report["cameraPath"]["ac"] == 400
        assert live.get("limitSideLen") == 736  # unchanged: the default policy's value
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


def delivered_in_order(hub) -> tuple[list[int], int]:  # noqa: F811
    """Distinct sequence numbers in arrival order, and how many arrived twice."""
    seen: list[int] = []
    duplicates = 0
    for seq in hub.seqs():
        if seq in seen:
            duplicates += 1
        else:
            seen.append(seq)
    return seen, duplicates


def test_outage_holds_messages_and_delivers_them_in_order(broker, hub, capsys):  # noqa: F811
    """Broker down for 10.5 s mid-stream: the bounded outbox holds, drops oldest, delivers."""
    rate_hz, bound, outage_s = 25.0, 150, 10.5
    settings = hub_settings(
        broker.ca, send_mode="every", outbox_size=bound, flush_timeout=60.0, report_interval=60.0
    )
    live = LiveSettings(Settings(iothub=settings), backend="synthetic")
    sink = IoTHubSink(
        settings, live, create_client(settings, environ={}), backoff_s=0.2, max_backoff_s=1.0
    )
    marks: dict[str, float] = {}
    writes: list[float] = []

    def outage() -> None:
        broker.stop()
        marks["down"] = time.monotonic()
        time.sleep(outage_s)
        marks["up_begin"] = time.monotonic()
        broker.start()
        marks["up"] = time.monotonic()

    with sink:
        assert wait_until(lambda: sink.twin.reports >= 1, 20), "connected"
        start = time.monotonic()
        timer = threading.Timer(2.0, outage)
        timer.start()
        index = 0
        while "up" not in marks or time.monotonic() < marks["up"] + 1.0:
            t0 = time.monotonic()
            sink.write(synthetic(index))
            writes.append(time.monotonic() - t0)
            index += 1
            time.sleep(max(0.0, start + index / rate_hz - time.monotonic()))
        timer.join()
        produced = index
        during = sum(
            1 for i in range(produced) if marks["down"] <= start + i / rate_hz < marks["up_begin"]
        )
        arrived = hub.wait_for(lambda: len(set(hub.seqs())) + sink.outbox.dropped >= produced, 90)
        drained = time.monotonic()
    received, duplicates = delivered_in_order(hub)
    dropped = sink.outbox.dropped
    with capsys.disabled():
        print(
            f"\n[offline] produced {produced} at {rate_hz:.0f}/s, {during} during the "
            f"{outage_s:.1f} s outage; delivered {len(received)} (+{duplicates} duplicate), "
            f"dropped {dropped} (outbox bound {bound}); drained {drained - marks['up']:.1f} s "
            f"after the broker came back; slowest write {max(writes) * 1000:.2f} ms"
        )
    assert arrived, f"only {len(received)} of {produced - dropped} arrived"
    assert during > bound, "the pipeline kept writing while the hub was unreachable"
    assert received == sorted(received), "delivered in order"
    # Nothing missing went uncounted. One message can be both: the one whose acknowledgement
    # the outage cut (the broker had it, the send raised, the outbox held it and, full,
    # later dropped it). The drain sends one at a time, so at most one per outage.
    missing_count = produced - len(received)
    assert dropped > 0 and missing_count <= dropped <= missing_count + 1, (missing_count, dropped)
    # a message in flight when the outbox overflows cannot be recalled; the next oldest
    # goes instead, so the newest bound - 1 are what the outbox guarantees
    assert set(range(produced - bound + 1, produced)) <= set(received), "the last bound held"
    missing = sorted(set(range(produced)) - set(received))
    kept = [seq for seq in received if missing[0] < seq < missing[-1]]
    # the oldest were dropped, in a run, except a message whose send was in progress when
    # the outbox overflowed (it cannot be recalled): at most one per send attempt
    assert len(missing) + len(kept) == missing[-1] - missing[0] + 1, "dropped oldest, in a run"
    assert len(kept) <= sink.outbox.failures + 1, (kept, sink.outbox.failures)
    for item in hub.telemetry[:3] + hub.telemetry[-3:]:
        check_message(item)


def test_throughput_through_the_outbox(broker, hub, capsys):  # noqa: F811
    """Messages/s sustained from the sink through the outbox to the broker (reported)."""
    count = 1500
    settings = hub_settings(broker.ca, send_mode="every", outbox_size=count, report_interval=60.0)
    live = LiveSettings(Settings(iothub=settings), backend="synthetic")
    with IoTHubSink(settings, live, create_client(settings, environ={})) as sink:
        assert wait_until(lambda: sink.twin.reports >= 1, 20), "connected"
        results = [synthetic(i) for i in range(count)]
        start = time.monotonic()
        for result in results:
            sink.write(result)
        queued = time.monotonic() - start
        assert hub.wait_for(lambda: len(hub.telemetry) >= count, 120)
        elapsed = time.monotonic() - start
    received, _ = delivered_in_order(hub)
    with capsys.disabled():
        print(
            f"\n[throughput] {count} messages: written in {queued:.2f} s "
            f"({count / queued:.0f}/s into the outbox), delivered in {elapsed:.2f} s "
            f"({count / elapsed:.0f} messages/s sustained to mosquitto)"
        )
    assert received == list(range(count))
    assert sink.outbox.dropped == 0
