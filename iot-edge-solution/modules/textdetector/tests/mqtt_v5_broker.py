"""Test fixtures: a real mosquitto speaking MQTT v5 on three listeners, and a subscriber.

Listeners on free ports of 127.0.0.1: plain (`plain`), TLS with a throwaway CA
(`tls`), and TLS that requires a client certificate signed by that CA (`mtls`). The CA,
the server certificate (localhost, 127.0.0.1) and a client certificate are made with the
openssl CLI at test time. Persistence is on, so a subscriber's session and its queued
QoS 1 messages survive a broker restart (the broker-down tests).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from components import need
from mqtt_broker import make_ca, mosquitto_binary
from ports import steady_ports

HOST = "127.0.0.1"


def openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def make_client_cert(folder: Path, name: str = "client") -> None:
    """`<name>.pem` and `<name>.key`: a client certificate signed by the folder's CA."""
    openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")  # fmt: skip
    openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem")  # fmt: skip
    for suffix in (".pem", ".key"):
        (folder / f"{name}{suffix}").chmod(0o644)


def make_other_ca(folder: Path) -> Path:
    """A second CA that signed nothing the broker uses (a wrong MQTT_CA_FILE)."""
    openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=some other CA", "-keyout", "other.key", "-out", "other.pem")  # fmt: skip
    return folder / "other.pem"


class Mosquitto5:
    """mosquitto with plain, TLS and client-certificate listeners; stop() and start()."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder = binary, folder
        # Below the ephemeral range: a test that stops the broker gets its ports back.
        self.ports = dict(zip(("plain", "tls", "mtls"), steady_ports(3)))
        self.ca = folder / "ca.pem"
        self.client_cert, self.client_key = folder / "client.pem", folder / "client.key"
        server = f"certfile {folder / 'server.pem'}\nkeyfile {folder / 'server.key'}\n"
        tls = f"cafile {self.ca}\n{server}"
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            "per_listener_settings true\npersistence true\n"
            f"persistence_location {folder / 'data'}/\n"
            "max_inflight_messages 100\nmax_queued_messages 100000\n"
            f"listener {self.ports['plain']} {HOST}\nallow_anonymous true\n"
            f"listener {self.ports['tls']} {HOST}\nallow_anonymous true\n{tls}"
            f"listener {self.ports['mtls']} {HOST}\nallow_anonymous false\n{tls}"
            "require_certificate true\nuse_identity_as_username true\n"
        )
        (folder / "data").mkdir(exist_ok=True)
        (folder / "data").chmod(0o777)
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def url(self, listener: str = "plain", host: str = "localhost") -> str:
        scheme = "mqtt" if listener == "plain" else "mqtts"
        return f"{scheme}://{host}:{self.ports[listener]}"

    def start(self, timeout_s: float = 10.0) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: " + self.log.read_text()[-800:])
            try:
                for port in self.ports.values():
                    socket.create_connection((HOST, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not listen within the time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


CERTIFICATES = ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key")


@pytest.fixture(scope="session")
def mqtt5_certificates():
    """The CA, server and client certificates, made once: three RSA keys cost about a
    second on two busy cores, and every broker test starts a fresh broker."""
    need(shutil.which("openssl") is not None, "the openssl CLI is not installed")
    folder = Path(tempfile.mkdtemp(prefix="textdetector-mqtt5-certs-"))
    make_ca(folder)
    make_client_cert(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mqtt5(mqtt5_certificates):
    """A fresh mosquitto (MQTT v5; plain, TLS and client-certificate listeners) in a
    folder of its own (persistence, log), with the session's certificates."""
    binary = mosquitto_binary()
    need(binary is not None, "mosquitto is not installed (scripts/test-deps.d/20-mosquitto.sh)")
    folder = Path(tempfile.mkdtemp(prefix="textdetector-mqtt5-"))
    folder.chmod(0o755)  # mosquitto started as root drops to its own user
    for name in CERTIFICATES:
        shutil.copy2(mqtt5_certificates / name, folder / name)
    server = Mosquitto5(binary, folder)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Received:
    topic: str
    payload: bytes
    user: dict[str, str]
    content_type: str


@dataclass
class Subscriber:
    """An MQTT v5 consumer with a persistent session: keeps its queued messages over a
    broker restart, so whatever the broker accepted reaches it."""

    broker: Mosquitto5
    topic: str = "#"
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.cond = threading.Condition()
        self.connected = threading.Event()
        self.client = paho.Client(client_id=f"sub-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.props = Properties(PacketTypes.CONNECT)
        self.props.SessionExpiryInterval = 3600

    def start(self) -> Subscriber:
        self.client.connect(
            HOST, self.broker.ports["plain"], 30, clean_start=False, properties=self.props
        )
        self.client.loop_start()
        assert self.connected.wait(10), "subscriber could not connect"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, rc, properties=None) -> None:
        client.subscribe(self.topic, qos=1)
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        props = getattr(msg, "properties", None)
        item = Received(
            msg.topic,
            bytes(msg.payload),
            dict(getattr(props, "UserProperty", None) or []),
            getattr(props, "ContentType", "") or "",
        )
        with self.cond:
            self.messages.append(item)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout_s: float) -> list[Received]:
        """The messages once `count` arrived (duplicates count), or at the timeout."""
        return self.wait_until(lambda messages: len(messages) >= count, timeout_s)

    def wait_until(self, done, timeout_s: float) -> list[Received]:
        """The messages once `done(messages)` holds, or at the timeout."""
        with self.cond:
            self.cond.wait_for(lambda: done(self.messages), timeout_s)
            return list(self.messages)
