"""MQTT settings, token checks, topic names and the CloudEvents binding, without a broker
(the broker side is in tests/integration/test_mqtt_*_broker.py)."""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cloudevents.core.formats.json import JSONFormat
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

from textdetector.config import MqttSettings, load, load_settings
from textdetector.errors import ConfigError
from textdetector.mqtt import BrokerSetupError, Connection, broker_from_url
from textdetector.mqtt.auth import read_token
from textdetector.mqtt.events import event_source, from_mqtt, make_event, to_mqtt
from textdetector.sinks.mqtt import topic_segment
from textdetector.sources.capture import classify


def jwt(claims: dict) -> str:
    def part(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MQTT_URL": "http://broker"}, "expected mqtt://host[:port] or mqtts://"),
        ({"MQTT_URL": "mqtt://user:pw@broker"}, "no credentials in the URL"),
        ({"MQTT_URL": "mqtt://broker/results"}, "the topic is MQTT_TOPIC"),
        ({"MQTT_URL": "mqtt://broker:99999"}, "not a URL"),
        ({"MQTT_TOPIC": "a/#"}, "wildcards"),
        ({"MQTT_TOPIC": "a/{camera}"}, "unknown field {camera}"),
        ({"MQTT_CLOUDEVENTS": "json"}, "expected one of"),
        ({"MQTT_CERT_FILE": "c.pem"}, "MQTT_CERT_FILE and MQTT_KEY_FILE go together"),
        ({"MQTT_TEXT_EVENTS": "true", "READ_TEXT": "false"}, "needs READ_TEXT=true"),
    ],
)
def test_bad_settings_are_one_readable_line(env, message):
    with pytest.raises(ConfigError) as exc:
        load_settings(env)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_good_settings_and_defaults():
    settings = load(MqttSettings, {"MQTT_URL": "mqtts://aio-broker:18883"})
    assert settings.mqtt_topic == "textdetector/{source}/{type}"
    assert settings.mqtt_cloudevents == "binary" and settings.mqtt_send_mode == "every"
    broker = broker_from_url(settings.mqtt_url, settings)
    assert (broker.host, broker.port, broker.tls) == ("aio-broker", 18883, True)
    assert broker_from_url("mqtt://b", settings).port == 1883
    assert broker_from_url("mqtts://b/cams/a%20b", settings, need_topic=True).topic == "cams/a b"


def test_mqtt_urls_are_a_source_kind():
    assert classify("mqtts://broker:8883/cameras/cam1/snapshot").kind == "mqtt"
    assert classify("mqtt://broker/cams/1").live


def test_token_checks(tmp_path):
    token = tmp_path / "token"
    with pytest.raises(BrokerSetupError, match="does not exist"):
        read_token(str(token))
    token.write_text("")
    with pytest.raises(BrokerSetupError, match="is empty"):
        read_token(str(token))
    token.write_text("not-a-jwt")
    with pytest.raises(BrokerSetupError, match="does not hold a JWT"):
        read_token(str(token))
    token.write_text(jwt({"exp": 1_700_000_000}))
    with pytest.raises(BrokerSetupError, match="the token expired at 2023-11-14 22:13:20 UTC"):
        read_token(str(token))
    fresh = jwt({"exp": time.time() + 3600, "sub": "system:serviceaccount:ns:textdetector"})
    token.write_text(fresh + "\n")
    assert read_token(str(token)) == fresh.encode()


def test_connect_carries_k8s_sat_and_reads_the_token_again(tmp_path):
    """The CONNECT properties paho sends (no broker needed to build them)."""
    token = tmp_path / "token"
    token.write_text(jwt({"exp": time.time() + 60}))
    settings = MqttSettings(mqtt_url="mqtt://broker", mqtt_sat_file=str(token))
    connection = Connection(broker_from_url(settings.mqtt_url, settings), "td-1")
    connection._refresh_token()
    assert connection._props.AuthenticationMethod == "K8S-SAT"
    assert connection._props.AuthenticationData == token.read_bytes()
    rotated = jwt({"exp": time.time() + 120, "n": 2})
    token.write_text(rotated)
    connection._on_disconnect(connection.client, None, 7)  # what a reconnect runs first
    assert connection._props.AuthenticationData == rotated.encode()


def test_topic_segment_is_one_safe_level():
    assert topic_segment("rtsp://user:***@cam-1:554/stream") == "user_cam-1_554_stream"
    assert topic_segment("/data/videos/gate #2.mp4") == "data_videos_gate_2.mp4"
    assert "/" not in topic_segment("a/b/c") and topic_segment("+#") == "source"


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_cloudevents_round_trip(mode):
    data = {"frame": 3, "texts": ["GATE 7"], "source": "cam0"}
    event = make_event("result", event_source("td-1", "cam 0"), "cam 0", data, "run-3", 3)
    payload, props = to_mqtt(event, mode)
    back = from_mqtt(payload, props)
    assert back is not None and back.get_data() == data
    assert back.get_type() == "textdetector.result" and back.get_id() == "run-3"
    assert back.get_source() == "/textdetector/td-1/cam%200"
    assert back.get_extension("sequence") == "3" and back.get_subject() == "cam 0"
    if mode == "structured":
        assert props.ContentType == "application/cloudevents+json"
        assert JSONFormat().read(None, payload).get_id() == "run-3"
    else:
        assert props.ContentType == "application/json" and json.loads(payload) == data


def test_payloads_that_are_not_cloudevents():
    assert from_mqtt(b"\xff\xd8\xff raw jpeg", None) is None
    assert from_mqtt(b'{"hello": 1}', None) is None  # JSON, but no specversion
    with pytest.raises(ValueError, match="malformed CloudEvent"):
        from_mqtt(b'{"specversion": "1.0", "type": "x"}', None)  # no id, no source


def test_help_lists_every_mqtt_setting():
    module = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "main.py", "--help"], cwd=module, capture_output=True, text=True
    )
    text = done.stdout
    for field in dataclasses.fields(MqttSettings):
        assert field.metadata["env"] in text, field.metadata["env"]
    assert "--mqtt-password" not in text  # a secret: environment only, but listed
    assert "mqtt[s]://host:port/topic" in " ".join(text.split())  # CAMERA_PATH


def snapshot_source(skipped: list[str], max_bytes: int = 1 << 20):
    """A snapshot source that is never opened: `_decode` is what each payload meets."""
    from textdetector.sources.mqtt import MqttSnapshotSource

    settings = MqttSettings(mqtt_max_snapshot_bytes=max_bytes)
    url = "mqtt://broker/cams/1"
    broker = broker_from_url(url, settings, need_topic=True)
    return MqttSnapshotSource(url, settings, skipped.append, broker=broker)


def message(payload: bytes, user: dict[str, str] | None = None, content_type: str = ""):
    from paho.mqtt.client import MQTTMessage
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    msg = MQTTMessage(topic=b"cams/1")
    msg.payload = payload
    props = Properties(PacketTypes.PUBLISH)
    if user:
        props.UserProperty = list(user.items())
    if content_type:
        props.ContentType = content_type
    msg.properties = props
    return msg


def test_snapshot_payloads_decoded_or_skipped_with_a_reason():
    import cv2
    import numpy as np

    image = np.full((40, 60, 3), 200, np.uint8)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    png = cv2.imencode(".png", image)[1].tobytes()
    wrapped = json.dumps(
        {"specversion": "1.0", "type": "s", "source": "/c", "id": "1",
         "data_base64": base64.b64encode(png).decode()}
    ).encode()  # fmt: skip
    ce = {"specversion": "1.0", "type": "s", "source": "/c", "id": "2"}
    skipped: list[str] = []
    source = snapshot_source(skipped, max_bytes=4096)
    decoded = [
        source._decode(message(jpeg)),
        source._decode(message(wrapped, content_type="application/cloudevents+json")),
        source._decode(message(jpeg, ce, "image/jpeg")),
    ]
    assert [d.shape for d in decoded] == [(40, 60, 3)] * 3
    assert source._decode(message(b"\xff" * 5000)) is None  # over MQTT_MAX_SNAPSHOT_BYTES
    assert source._decode(message(jpeg[:200])) is None  # truncated
    assert source._decode(message(b'{"a": 1}', ce, "application/json")) is None
    assert source._decode(message(b'{"specversion": "1.0"}')) is None
    huge = bytearray(jpeg)  # a header that declares 60000 x 60000 pixels
    sof = huge.index(b"\xff\xc0")
    huge[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2
    assert source._decode(message(bytes(huge))) is None
    assert skipped == ["too_large", "not_image", "not_image", "bad_cloudevent", "too_large"]


REASONS = {"not_image", "too_large", "bad_cloudevent"}


@fuzz(300)
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.builds(
            lambda d: json.dumps(
                {"specversion": "1.0", "type": "t", "source": "/s", "id": "i", **d}
            ).encode(),
            st.dictionaries(
                st.sampled_from(["data", "data_base64", "time", "datacontenttype", "x"]),
                st.one_of(st.text(max_size=40), st.integers(), st.none()),
                max_size=4,
            ),
        ),
    ),
    st.dictionaries(
        st.sampled_from(["specversion", "type", "source", "id", "time", "datacontenttype"]),
        st.text(max_size=30),
        max_size=6,
    ),
    st.sampled_from(["", "image/jpeg", "application/json", "application/cloudevents+json"]),
)
@pytest.mark.slow
def test_fuzz_snapshot_payloads_never_raise(payload, user, content_type):
    skipped: list[str] = []
    image = snapshot_source(skipped)._decode(message(payload, user, content_type))
    assert (image is None) == (len(skipped) == 1) and set(skipped) <= REASONS


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "MQTT_SAT_FILE {path} does not exist"),
        ("expired", "the token expired at"),
    ],
)
def test_sink_refuses_a_missing_or_expired_token_at_start(tmp_path, token, expected):
    """Checked before connecting: no broker is needed to fail."""
    from textdetector.sinks.mqtt import MqttSink

    path = tmp_path / "token"
    if token == "expired":
        path.write_text(jwt({"exp": time.time() - 10}))
    sink = MqttSink(MqttSettings(mqtt_url="mqtt://localhost:1", mqtt_sat_file=str(path)))
    with pytest.raises(ConfigError) as exc:
        sink.__enter__()
    assert expected.format(path=path) in str(exc.value) and "\n" not in str(exc.value)


def test_skipped_inputs_are_counted_per_reason_and_shown():
    from textdetector.sources.health import HealthRegistry, describe

    health = HealthRegistry()
    health.register("mqtt://b/t", live=True)
    for reason in ("not_image", "too_large", "not_image"):
        health.skip("mqtt://b/t", reason)
    assert health.snapshot()["mqtt://b/t"]["skipped"] == {"not_image": 2, "too_large": 1}
    line = describe(health.snapshot())
    assert "2 skipped (not_image), 1 skipped (too_large)" in line


def test_skipped_inputs_are_a_prometheus_counter():
    from prometheus_client import CollectorRegistry, generate_latest

    from textdetector.pipeline.health_http import SourceCollector
    from textdetector.sources.health import HealthRegistry

    health = HealthRegistry()
    health.register("mqtt://b/t", live=True)
    health.skip("mqtt://b/t", "too_large")
    registry = CollectorRegistry()
    registry.register(SourceCollector(health))
    text = generate_latest(registry).decode()
    assert 'textdetector_source_skipped_total{reason="too_large",source="mqtt://b/t"} 1.0' in text
