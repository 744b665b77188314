"""Broker address, TLS and authentication, checked up front with readable errors.

A Kubernetes service-account token (Azure IoT Operations' broker) is sent as MQTT v5
enhanced authentication: method `K8S-SAT`, the token as authentication data. The token
file is read again for every connection (the kubelet rotates it); a missing, empty or
expired token is a `BrokerSetupError` naming the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config import MQTT_SCHEMES, MqttSettings

SAT_METHOD = "K8S-SAT"


class BrokerSetupError(Exception):
    """Something about the broker settings that no retry can fix; one readable line."""


@dataclass(frozen=True)
class Broker:
    """Where and how to connect: host, port, TLS, credentials, and a topic (sources)."""

    host: str
    port: int
    tls: bool
    topic: str
    settings: MqttSettings

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"


def broker_from_url(url: str, settings: MqttSettings, need_topic: bool = False) -> Broker:
    """A Broker from mqtt[s]://host[:port][/topic]; the topic is the URL's path."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise BrokerSetupError(f"not a broker URL ({exc})") from None
    if parts.scheme not in MQTT_SCHEMES or not parts.hostname:
        raise BrokerSetupError("expected mqtt://host[:port]/topic or mqtts://...")
    topic = unquote(parts.path.lstrip("/"))
    if need_topic and not topic:
        raise BrokerSetupError("no topic (e.g. mqtt://host:1883/cameras/cam1/snapshot)")
    return Broker(
        parts.hostname,
        port or MQTT_SCHEMES[parts.scheme],
        parts.scheme == "mqtts",
        topic,
        settings,
    )


def check_host(broker: Broker) -> None:
    """The broker's host name resolves (a typo in the URL is reported, not retried)."""
    try:
        socket.getaddrinfo(broker.host, broker.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BrokerSetupError(
            f"MQTT broker host {broker.host!r} cannot be resolved ({exc.strerror})"
        ) from None


def readable_file(path: str, setting: str) -> Path:
    """`path` as a Path, or BrokerSetupError if it is missing, a folder or unreadable."""
    file = Path(path).expanduser()
    if not file.exists():
        raise BrokerSetupError(f"{setting} {file} does not exist")
    if not file.is_file():
        raise BrokerSetupError(f"{setting} {file} is not a file")
    try:
        file.read_bytes()
    except OSError as exc:
        raise BrokerSetupError(f"{setting} {file} cannot be read ({exc.strerror})") from None
    return file


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """A client TLS context: the CA file (else the system's), the client certificate."""
    cafile = (
        str(readable_file(settings.mqtt_ca_file, "MQTT_CA_FILE")) if settings.mqtt_ca_file else None
    )
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (ssl.SSLError, ValueError) as exc:
        raise BrokerSetupError(
            f"MQTT_CA_FILE {settings.mqtt_ca_file} holds no usable PEM certificate ({exc})"
        ) from None
    if settings.mqtt_cert_file:
        cert = readable_file(settings.mqtt_cert_file, "MQTT_CERT_FILE")
        key = readable_file(settings.mqtt_key_file, "MQTT_KEY_FILE")
        try:
            context.load_cert_chain(str(cert), str(key))
        except (ssl.SSLError, ValueError) as exc:
            raise BrokerSetupError(
                f"MQTT_CERT_FILE/MQTT_KEY_FILE: not a matching PEM certificate and key ({exc})"
            ) from None
    return context


def read_token(path: str, now: float | None = None) -> bytes:
    """The service-account token in `path`; BrokerSetupError if missing, empty or expired."""
    token = readable_file(path, "MQTT_SAT_FILE").read_bytes().strip()
    if not token:
        raise BrokerSetupError(f"MQTT_SAT_FILE {path} is empty")
    expires = token_expiry(token)
    now = time.time() if now is None else now
    if expires is not None and expires <= now:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires))
        raise BrokerSetupError(f"MQTT_SAT_FILE {path}: the token expired at {stamp}")
    return token


def token_expiry(token: bytes) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), None if it has none.

    Only read to report an expired token early; the broker verifies the signature."""
    parts = token.split(b".")
    if len(parts) != 3:
        raise BrokerSetupError("MQTT_SAT_FILE does not hold a JWT (header.payload.signature)")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, ValueError):
        raise BrokerSetupError("MQTT_SAT_FILE: the token's payload is not JSON") from None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) else None


def precheck(broker: Broker) -> None:
    """Everything that can be checked without connecting: host, TLS files, token."""
    settings = broker.settings
    if (settings.mqtt_ca_file or settings.mqtt_cert_file) and not broker.tls:
        raise BrokerSetupError(
            f"MQTT_CA_FILE/MQTT_CERT_FILE are set but {broker.url} is not TLS: use mqtts://"
        )
    if broker.tls:
        tls_context(settings)
    if settings.mqtt_sat_file:
        read_token(settings.mqtt_sat_file)
    check_host(broker)
