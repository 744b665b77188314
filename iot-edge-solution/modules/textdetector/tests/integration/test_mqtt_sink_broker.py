"""The MQTT sink against a real mosquitto (MQTT v5; plain, TLS and client-certificate
listeners, certificates made at test time): results arrive as CloudEvents that the
`cloudevents` SDK parses, in order, nothing lost while the broker is down for 10 s, and
settings that cannot work are one readable error at start."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import numpy as np
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from dateutil.parser import isoparse
from mqtt_v5_broker import Mosquitto5, Subscriber, make_other_ca

from textdetector.config import MqttSettings
from textdetector.errors import ConfigError
from textdetector.results import Detections, FrameResult, Timings
from textdetector.sinks.delivery import wait_until
from textdetector.sinks.mqtt import MqttSink


def result(index: int, source: str = "rtsp://cam-1/stream") -> FrameResult:
    boxes = np.array([[[10, 20], [110, 20], [110, 40], [10, 40]]], np.float32)
    det = Detections(boxes, np.full(1, 0.9, np.float32), (720, 1280)).with_texts(
        ("GATE 7",), np.full(1, 0.95, np.float32)
    )
    return FrameResult(index, 100.0 + index, source, det, Timings(1.0, 6.0, 2.0))


def parse(message) -> object:
    """The CloudEvent in one MQTT message, read with the cloudevents SDK."""
    if message.content_type == JSONFormat.CONTENT_TYPE:
        return JSONFormat().read(None, message.payload)
    # Binary mode (MQTT binding): the attributes are the user properties, as they are.
    attributes = {**message.user, "time": isoparse(message.user["time"])}
    assert attributes["datacontenttype"] == message.content_type
    return CloudEvent(attributes, JSONFormat().read_data(message.payload, message.content_type))


def results_of(messages) -> list:
    events = [parse(m) for m in messages]
    return [e for e in events if e.get_type() == "textdetector.result"]


def settings(server: Mosquitto5, listener: str, **extra) -> MqttSettings:
    tls = {"mqtt_ca_file": str(server.ca)} if listener != "plain" else {}
    if listener == "mtls":
        tls |= {"mqtt_cert_file": str(server.client_cert), "mqtt_key_file": str(server.client_key)}
    return MqttSettings(mqtt_url=server.url(listener), **tls, **extra)


@pytest.mark.parametrize(
    ("listener", "mode"), [("tls", "binary"), ("mtls", "structured"), ("plain", "binary")]
)
def test_results_arrive_as_cloudevents_in_order(mqtt5: Mosquitto5, listener, mode):
    sub = Subscriber(mqtt5).start()
    try:
        with MqttSink(
            settings(mqtt5, listener, mqtt_cloudevents=mode, mqtt_send_interval=3600)
        ) as sink:
            for i in range(25):
                sink.write(result(i))
        messages = sub.wait_for(25, 20)
    finally:
        sub.stop()
    events = results_of(messages)
    assert [e.get_data()["frame"] for e in events] == list(range(25))
    first = events[0]
    assert first.get_specversion() == "1.0" and first.get_type() == "textdetector.result"
    assert first.get_source().startswith("/textdetector/") and first.get_time() is not None
    assert first.get_datacontenttype() == "application/json"
    assert first.get_data()["texts"] == ["GATE 7"]  # FrameResult.to_dict, as JSON Lines
    assert len({e.get_id() for e in events}) == 25
    assert {m.topic for m in messages} == {"textdetector/cam-1_stream/result"}
    if mode == "binary":
        assert {"specversion", "type", "source", "id", "time", "datacontenttype"} <= set(
            messages[0].user
        )
        assert json.loads(messages[0].payload)["frame"] == 0


def test_broker_down_for_10_s_loses_nothing_within_the_outbox(mqtt5: Mosquitto5):
    sub = Subscriber(mqtt5).start()
    try:
        with MqttSink(
            settings(mqtt5, "tls", mqtt_send_interval=3600, mqtt_outbox_size=500)
        ) as sink:
            for i in range(20):
                sink.write(result(i))
            assert wait_until(lambda: sink.outbox.sent >= 20, 10)
            mqtt5.stop()
            stopped = time.monotonic()
            index = 20
            while time.monotonic() - stopped < 10:  # 10 s down, results keep coming
                sink.write(result(index))
                index += 1
                time.sleep(0.1)
            held = len(sink.outbox)
            mqtt5.start()
            for _ in range(20):
                sink.write(result(index))
                index += 1
            assert wait_until(lambda: len(sink.outbox) == 0, 30), len(sink.outbox)
            assert sink.outbox.dropped == 0
        wanted = set(range(index))  # QoS 1 may repeat one: wait for every frame

        def every_frame(received) -> bool:
            return wanted <= {e.get_data()["frame"] for e in results_of(received)}

        messages = sub.wait_until(every_frame, 30)
    finally:
        sub.stop()
    assert held > 50  # results really waited in the outbox while the broker was down
    frames = [e.get_data()["frame"] for e in results_of(messages)]
    first_seen = list(dict.fromkeys(frames))  # QoS 1 may repeat one; the id tells
    assert first_seen == list(range(index))


def test_text_events_and_summaries_are_cloudevents_too(mqtt5: Mosquitto5):
    sub = Subscriber(mqtt5).start()
    try:
        config = settings(
            mqtt5,
            "plain",
            mqtt_text_events=True,
            mqtt_send_mode="interval",
            mqtt_send_interval=0.2,
        )
        with MqttSink(config, text_event_gap=1, text_event_min_frames=2) as sink:
            for i in range(4):
                sink.write(result(i))
                time.sleep(0.1)  # 4 frames over 0.4 s: at least one 0.2 s summary
        published = sink.outbox.sent
        messages = sub.wait_for(published, 10)
    finally:
        sub.stop()
    events = [parse(m) for m in messages]
    appearances = [e for e in events if e.get_type() == "textdetector.textAppearance"]
    assert [a.get_data()["text"] for a in appearances] == ["GATE 7"]
    assert appearances[0].get_data()["frames"] == 4
    summaries = [e.get_data() for e in events if e.get_type() == "textdetector.summary"]
    assert summaries and all(s["source"] == "rtsp://cam-1/stream" for s in summaries)
    assert sum(s["frames"] for s in summaries) <= 4 and summaries[0]["regionsMax"] == 1
    assert not [e for e in events if e.get_type() == "textdetector.result"]  # interval mode
    topics = {m.topic.rsplit("/", 1)[1] for m in messages}
    assert topics == {"textAppearance", "summary"}


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_ca_that_did_not_sign_the_broker_is_one_line(mqtt5: Mosquitto5):
    other = make_other_ca(mqtt5.folder)
    with pytest.raises(ConfigError) as exc:
        MqttSink(MqttSettings(mqtt_url=mqtt5.url("tls"), mqtt_ca_file=str(other))).__enter__()
    assert "certificate is not trusted" in one_line(exc) and "MQTT_CA_FILE" in one_line(exc)


def test_a_bad_ca_file_is_one_line(mqtt5: Mosquitto5, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as exc:
        MqttSink(MqttSettings(mqtt_url=mqtt5.url("tls"), mqtt_ca_file=str(bad))).__enter__()
    assert "MQTT_CA_FILE" in one_line(exc) and "no usable PEM" in one_line(exc)


def test_client_certificate_listener_refuses_a_client_without_one(mqtt5: Mosquitto5):
    """TLS 1.3: the broker's "certificate required" alert, or only a closed connection
    when it races the client's CONNECT; either way one line naming MQTT_CERT_FILE."""
    sink = MqttSink(MqttSettings(mqtt_url=mqtt5.url("mtls"), mqtt_ca_file=str(mqtt5.ca)))
    with pytest.raises(ConfigError) as exc:
        sink.__enter__()
    assert mqtt5.url("mtls") in one_line(exc) and "MQTT_CERT_FILE" in one_line(exc)


def test_an_unknown_host_is_one_line():
    with pytest.raises(ConfigError) as exc:
        MqttSink(MqttSettings(mqtt_url="mqtt://no-such-broker.invalid:1883")).__enter__()
    assert "no-such-broker.invalid" in one_line(exc) and "cannot be resolved" in one_line(exc)


def test_k8s_sat_reaches_the_broker_as_enhanced_authentication(mqtt5: Mosquitto5, tmp_path):
    """mosquitto has no K8S-SAT authenticator: it answers `Bad authentication method`,
    which shows the method travelled in CONNECT; the refusal is one line at start."""
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln")
    sink = MqttSink(MqttSettings(mqtt_url=mqtt5.url("plain"), mqtt_sat_file=str(token)))
    with pytest.raises(ConfigError) as exc:
        sink.__enter__()
    assert "Bad authentication method" in one_line(exc)


def test_a_broker_that_is_not_up_yet_is_waited_for(mqtt5: Mosquitto5):
    mqtt5.stop()
    sub = None
    with MqttSink(settings(mqtt5, "tls", mqtt_send_interval=3600)) as sink:
        for i in range(5):
            sink.write(result(i))
        time.sleep(1.0)
        assert sink.outbox.sent == 0 and len(sink.outbox) == 5
        mqtt5.start()
        sub = Subscriber(mqtt5).start()
        assert wait_until(lambda: sink.outbox.sent == 5, 20)
    try:
        messages = sub.wait_for(5, 10)
    finally:
        sub.stop()
    assert [e.get_data()["frame"] for e in results_of(messages)] == list(range(5))


def test_the_module_publishes_its_results_as_cloudevents(mqtt5: Mosquitto5):
    """`python main.py` on the demo video with MQTT_URL: every frame's result, in order."""
    from module_process import ModuleProcess

    sub = Subscriber(mqtt5).start()
    env = {
        "MAX_FRAMES": "12",
        "MQTT_URL": mqtt5.url("tls"),
        "MQTT_CA_FILE": str(mqtt5.ca),
        "MQTT_CLIENT_ID": "gate-edge-1",
    }
    module = ModuleProcess(env)
    try:
        assert module.process.wait(120) == 0, module.log()
        messages = sub.wait_for(12, 20)
    finally:
        module.kill()
        sub.stop()
    events = results_of(messages)
    assert [e.get_data()["frame"] for e in events] == list(range(12)), module.log()
    assert {e.get_source() for e in events} == {
        "/textdetector/gate-edge-1/" + quote(events[0].get_subject(), safe="")
    }
    assert events[0].get_subject().endswith("demo_video.mp4")
    assert any(e.get_data()["texts"] for e in events)  # read text reaches MQTT
