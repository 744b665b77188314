"""Test fixtures: a real mosquitto broker with TLS playing the IoT Hub / edgeHub endpoint.

A throwaway CA and a server certificate for `localhost` are made with the openssl CLI.
mosquitto listens on 127.0.0.1:8883 (the port azure-iot-device hard-codes). The hub
side of the protocol (twin GET/PATCH answers, desired patches, direct method calls) is
played by a paho-mqtt client speaking the IoT Hub MQTT topics.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from components import need

PORT = 8883
HOST = "127.0.0.1"
DEVICE = "edge-test"
MODULE = "textdetector"
CONNECTION_STRING = (
    f"HostName=localhost;DeviceId={DEVICE};ModuleId={MODULE};"
    "SharedAccessKey=dGhyb3dhd2F5LXRlc3Qta2V5LW5vdC1hLXNlY3JldA=="
)


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto",) if os.access(p, os.X_OK)), None
    )


def make_ca(folder: Path) -> None:
    """CA, server key and certificate (localhost, 127.0.0.1), readable by any user."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=textdetector test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    )
    folder.chmod(0o755)  # mosquitto started as root drops to its own user
    for path in folder.iterdir():
        path.chmod(0o644)


class Mosquitto:
    """One mosquitto process on 127.0.0.1:8883 that can be stopped and started again."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.ca = folder / "ca.pem"
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.conf.write_text(
            f"listener {PORT} {HOST}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder / 'data'}/\n"
            f"cafile {folder / 'ca.pem'}\ncertfile {folder / 'server.pem'}\n"
            f"keyfile {folder / 'server.key'}\nmax_inflight_messages 100\n"
            "max_queued_messages 100000\n"
        )
        (folder / "data").mkdir(exist_ok=True)
        (folder / "data").chmod(0o777)  # writable by the user mosquitto drops to
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: " + self.log.read_text()[-800:])
            try:
                socket.create_connection((HOST, PORT), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {PORT} within {timeout_s} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def port_busy() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def broker():
    """A running TLS mosquitto for the whole session (skips/fails when unavailable)."""
    binary = mosquitto_binary()
    if binary is None:
        need(False, "mosquitto is not installed (scripts/test-deps.d/20-mosquitto.sh installs it)")
    if shutil.which("openssl") is None:
        need(False, "the openssl CLI is not installed")
    if port_busy():
        need(False, f"port {PORT} is already in use on {HOST}; the IoT Hub SDK needs it")
    folder = Path(tempfile.mkdtemp(prefix="textdetector-mqtt-"))
    make_ca(folder)
    server = Mosquitto(binary, folder)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Telemetry:
    topic: str
    properties: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class HubEmulator:
    """The hub side over MQTT: collects telemetry, answers twin requests, calls methods."""

    ca: Path
    desired: dict[str, Any] = field(default_factory=lambda: {"$version": 1})
    telemetry: list[Telemetry] = field(default_factory=list)
    reported: list[dict[str, Any]] = field(default_factory=list)
    responses: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import paho.mqtt.client as mqtt

        self.cond = threading.Condition()
        self.connected = threading.Event()
        # A persistent session: the broker keeps subscriptions and queued messages over
        # its own restart (the offline test), so nothing is lost while this reconnects.
        self.client = mqtt.Client(client_id=f"hub-{uuid.uuid4().hex[:8]}", clean_session=False)
        self.client.tls_set(ca_certs=str(self.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message

    def start(self) -> HubEmulator:
        self.client.connect("localhost", PORT, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), "hub emulator could not connect"
        return self

    def seqs(self) -> list[int]:
        with self.cond:
            return [int(t.properties["seq"]) for t in self.telemetry]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, rc) -> None:
        for topic in (
            f"devices/{DEVICE}/modules/+/messages/events/#",
            f"devices/{DEVICE}/messages/events/#",
            "$iothub/twin/GET/#",
            "$iothub/twin/PATCH/properties/reported/#",
            "$iothub/methods/res/#",
        ):
            client.subscribe(topic, qos=1)
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        topic = msg.topic
        if topic.startswith("$iothub/twin/GET/"):
            rid = _query(topic)["$rid"]
            twin = {"desired": self.desired, "reported": {"$version": 1}}
            client.publish(f"$iothub/twin/res/200/?$rid={rid}", json.dumps(twin), qos=1)
            return
        if topic.startswith("$iothub/twin/PATCH/properties/reported/"):
            rid = _query(topic)["$rid"]
            with self.cond:
                self.reported.append(json.loads(msg.payload))
                version = len(self.reported) + 1
                self.cond.notify_all()
            client.publish(f"$iothub/twin/res/204/?$rid={rid}&$version={version}", b"", qos=1)
            return
        if topic.startswith("$iothub/methods/res/"):
            status = int(topic.split("/")[3])
            with self.cond:
                self.responses[_query(topic)["$rid"]] = (status, json.loads(msg.payload))
                self.cond.notify_all()
            return
        props = dict(parse_qsl(topic.split("/messages/events/", 1)[1], keep_blank_values=True))
        with self.cond:
            self.telemetry.append(Telemetry(topic, props, bytes(msg.payload)))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout_s: float = 20.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout_s)

    def patch_desired(self, patch: dict[str, Any]) -> None:
        version = patch["$version"]
        self.client.publish(
            f"$iothub/twin/PATCH/properties/desired/?$version={version}", json.dumps(patch), qos=1
        )

    def invoke(self, name: str, payload: Any = None, timeout_s: float = 10.0) -> tuple[int, Any]:
        rid = uuid.uuid4().hex[:8]
        self.client.publish(f"$iothub/methods/POST/{name}/?$rid={rid}", json.dumps(payload), qos=1)
        assert self.wait_for(lambda: rid in self.responses, timeout_s), (
            f"no response to method {name} within {timeout_s} s"
        )
        return self.responses[rid]


def _query(topic: str) -> dict[str, str]:
    return dict(parse_qsl(topic.split("?", 1)[1], keep_blank_values=True))


@pytest.fixture()
def hub(broker):
    """A fresh hub emulator connected to the session broker."""
    emulator = HubEmulator(broker.ca).start()
    yield emulator
    emulator.stop()
