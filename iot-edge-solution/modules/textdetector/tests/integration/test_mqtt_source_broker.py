"""The MQTT snapshot source against a real mosquitto: raw JPEG payloads and
CloudEvents-wrapped ones become frames, garbage and a 50 MB payload are skipped with a
counted reason, a broker restart is a reconnect (state in health), settings that cannot
work are one readable error; and the module, fed by a snapshot publisher, reads the text."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time

import cv2
import numpy as np
import pytest
from module_process import ModuleProcess
from mqtt_v5_broker import HOST, Mosquitto5

from textdetector.config import MqttSettings, SourceSettings
from textdetector.errors import SourceError
from textdetector.sources.health import HealthRegistry
from textdetector.sources.reconnect import mqtt_reconnecting

TOPIC = "cameras/gate/snapshot"
FAST = SourceSettings(reconnect_delay=0.2, reconnect_max_delay=1.0, source_timeout=30.0)


def snapshot(text: str = "GATE 42", size: tuple[int, int] = (360, 640)) -> bytes:
    image = np.full((*size, 3), 255, np.uint8)
    cv2.putText(image, text, (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (0, 0, 0), 8)
    return cv2.imencode(".jpg", image)[1].tobytes()


class Publisher:
    """An MQTT v5 client publishing to the broker's plain listener."""

    def __init__(self, broker: Mosquitto5) -> None:
        import paho.mqtt.client as paho

        self.client = paho.Client(client_id="camera-connector", protocol=paho.MQTTv5)
        self.client.connect(HOST, broker.ports["plain"], 30)
        self.client.loop_start()

    def send(self, payload: bytes, user: dict[str, str] | None = None, **kw) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)
        if user:
            props.UserProperty = list(user.items())
        if "content_type" in kw:
            props.ContentType = kw.pop("content_type")
        self.client.publish(TOPIC, payload, qos=1, properties=props, **kw).wait_for_publish(30)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def structured(image: bytes) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "type": "com.example.snapshot",
            "source": "/cameras/gate",
            "id": "s1",
            "datacontenttype": "image/jpeg",
            "data_base64": base64.b64encode(image).decode(),
        }
    ).encode()


BINARY_CE = {"specversion": "1.0", "type": "snapshot", "source": "/cameras/gate", "id": "b1"}


def reader(source, frames: list, stop: threading.Event) -> threading.Thread:
    def run() -> None:
        while not stop.is_set():
            frame = source.read()
            if frame is None:
                return
            frames.append(frame)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.parametrize("listener", ["plain", "mtls"])
def test_images_raw_and_as_cloudevents_read_garbage_and_50_mb_skipped(
    mqtt5: Mosquitto5, listener: str
):
    health = HealthRegistry()
    url = f"{mqtt5.url(listener)}/{TOPIC}"
    tls = {}
    if listener == "mtls":  # TLS with the test CA and a client certificate
        tls = {
            "mqtt_ca_file": str(mqtt5.ca),
            "mqtt_cert_file": str(mqtt5.client_cert),
            "mqtt_key_file": str(mqtt5.client_key),
        }
    source = mqtt_reconnecting(url, FAST, health, MqttSettings(**tls))
    frames: list = []
    stop = threading.Event()
    publisher = Publisher(mqtt5)
    try:
        source.open()
        thread = reader(source, frames, stop)
        publisher.send(snapshot(), retain=True)  # waits for the subscription
        assert wait(lambda: len(frames) == 1, 20), health.snapshot()

        def handled() -> int:  # payloads the source is done with: read or skipped
            return len(frames) + sum(health.snapshot()[url]["skipped"].values())

        for step, (args, kw) in enumerate(
            [
                ((b"\x00garbage, not an image",), {}),
                ((b"\xff" * (50 * 1024 * 1024),), {}),  # 50 MB
                ((structured(snapshot("DOCK 7")),), {}),
                ((snapshot("BAY 3"), BINARY_CE), {"content_type": "image/jpeg"}),
                ((b'{"hello": 1}', BINARY_CE), {"content_type": "application/json"}),
                ((snapshot("LANE 9"),), {}),
            ]
        ):  # one at a time: a live source keeps only the newest few waiting (the rest drop)
            before = handled()
            publisher.send(*args, **kw)
            # at least one more (the exact counts are checked below). 50 MB over TLS took
            # 2 s on a quiet 2-core machine and 32 s beside three busy processes (as in
            # `make test`): 120 s bounds a hang, not the speed
            assert wait(lambda n=before + 1: handled() >= n, 120), (
                f"payload {step}: {handled()} handled, {before + 1} expected; "
                f"{health.snapshot()[url]}"
            )
    finally:
        stop.set()
        source.close()
        publisher.stop()
    entry = health.snapshot()[url]
    assert entry["skipped"] == {"not_image": 2, "too_large": 1}
    assert entry["frames_read"] == 4 and entry["state"] == "connected"
    assert [f.image.shape for f in frames] == [(360, 640, 3)] * 4
    assert [f.index for f in frames] == [0, 1, 2, 3]
    thread.join(2)


@contextlib.contextmanager
def subscribed(mqtt5: Mosquitto5, settings: SourceSettings = FAST):
    """The reconnecting MQTT source on the plain listener, opened and read on a thread:
    yields its health id, the health registry and the list the frames go to."""
    health = HealthRegistry()
    url = f"{mqtt5.url('plain')}/{TOPIC}"
    source = mqtt_reconnecting(url, settings, health, MqttSettings())
    frames: list = []
    stop = threading.Event()
    try:
        source.open()
        reader(source, frames, stop)
        yield url, health, frames
    finally:
        stop.set()
        source.close()


def test_broker_restart_is_a_reconnect_with_its_state_in_health(mqtt5: Mosquitto5):
    publisher = Publisher(mqtt5)
    try:
        with subscribed(mqtt5) as (url, health, frames):
            publisher.send(snapshot(), retain=True)
            assert wait(lambda: len(frames) >= 1, 20)
            publisher.stop()
            mqtt5.stop()
            assert wait(lambda: health.state(url) in ("reconnecting", "down"), 10)
            assert "MQTT broker" in health.snapshot()[url]["last_error"]
            mqtt5.start()
            publisher = Publisher(mqtt5)
            before = len(frames)
            assert wait(lambda: health.snapshot()[url]["reconnects"] >= 1, 10)

            def fed() -> bool:
                publisher.send(snapshot("AGAIN 1"))
                return len(frames) > before

            assert wait(fed, 20), health.snapshot()
            assert health.state(url) == "connected"
    finally:
        publisher.stop()


def test_a_quiet_topic_is_not_a_stall(mqtt5: Mosquitto5):
    """Snapshots may come once a minute, or only payloads that are skipped: with a 1 s
    watchdog, 3 s of garbage and silence cause no reconnect, and the next image is read."""
    quick_watch = SourceSettings(reconnect_delay=0.2, reconnect_max_delay=1.0, source_timeout=1.0)
    publisher = Publisher(mqtt5)
    try:
        with subscribed(mqtt5, quick_watch) as (url, health, frames):
            assert wait(lambda: health.state(url) == "connected", 10)  # subscribed

            def garbage_seen() -> bool:
                publisher.send(b"not an image")
                return health.snapshot()[url]["skipped"].get("not_image", 0) >= 1

            assert wait(garbage_seen, 10)
            time.sleep(3.0)
            publisher.send(snapshot("LATE 7"))
            assert wait(lambda: len(frames) == 1, 10), health.snapshot()
            entry = health.snapshot()[url]
            assert entry["reconnects"] == 0 and set(entry["skipped"]) == {"not_image"}
            assert entry["state"] == "connected"
    finally:
        publisher.stop()


@pytest.mark.parametrize(
    ("path", "settings", "expected"),
    [
        ("", {}, "no topic"),
        (f"/{TOPIC}", {"mqtt_sat_file": "/nonexistent/token"}, "does not exist"),
        (f"/{TOPIC}", {"mqtt_ca_file": "/nonexistent/ca.pem"}, "MQTT_CA_FILE"),
    ],
)
def test_settings_that_cannot_work_are_one_line_at_start(
    mqtt5: Mosquitto5, path, settings, expected
):
    listener = "tls" if "mqtt_ca_file" in settings else "plain"
    url = mqtt5.url(listener) + path
    with pytest.raises(SourceError) as exc:
        mqtt_reconnecting(url, FAST, HealthRegistry(), MqttSettings(**settings))
    assert expected in str(exc.value) and "\n" not in str(exc.value)


def test_the_module_reads_the_text_of_published_snapshots(mqtt5: Mosquitto5, tmp_path):
    out = tmp_path / "results.jsonl"
    url = f"{mqtt5.url('plain', host=HOST)}/{TOPIC}"
    module = ModuleProcess(
        {"CAMERA_PATH": url, "JSON_OUTPUT": str(out), "DET_LIMIT_SIDE_LEN": "640"}
    )
    publisher = Publisher(mqtt5)
    try:

        def fed() -> bool:
            publisher.send(snapshot("GATE 42"))
            publisher.send(b"not a jpeg")
            return module.frames(url) >= 3

        assert module.wait_for(fed, 90, step_s=0.5), module.log()
        entry = module.source(url)
        assert entry["skipped"].get("not_image", 0) >= 2
    finally:
        publisher.stop()
        code = module.stop()
    assert code == 0, module.log()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    texts = {t for line in lines for t in line.get("texts", [])}
    assert "GATE 42" in texts, texts
