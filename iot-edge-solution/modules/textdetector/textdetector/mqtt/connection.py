"""One MQTT v5 connection (paho-mqtt) with TLS, K8S-SAT and automatic reconnects.

`start()` makes the first attempt in the caller's thread so that what only the broker
can tell (certificate not trusted, not authorised) is one readable error at start; an
unreachable broker is not an error: the network thread keeps retrying (`wait` tells
when it is up). Every reconnect reads the token file again.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .auth import SAT_METHOD, Broker, BrokerSetupError, read_token, tls_context

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
CONNACK_WAIT_S = 10.0
RETRY_S = 1.0  # after an error paho's own loop did not handle
# CONNACK reason codes no retry can fix: the settings are wrong.
FATAL_CONNACK = {
    "Bad user name or password",
    "Not authorized",
    "Bad authentication method",
    "Client identifier not valid",
    "Unsupported protocol version",
}


def default_client_id(prefix: str = "textdetector") -> str:
    return f"{prefix}-{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


class Connection:
    """A paho-mqtt v5 client: connected in `start()`, reconnecting on its own thread."""

    def __init__(
        self,
        broker: Broker,
        client_id: str = "",
        on_message: Callable[[paho.MQTTMessage], None] | None = None,
        subscribe: str = "",
    ) -> None:
        self.broker = broker
        self.client_id = client_id or default_client_id()
        self.subscription = subscribe
        self.last_error = ""
        self.connected = threading.Event()
        self.refused = ""  # a CONNACK reason no retry fixes
        self._answered = threading.Event()  # a CONNACK came, accepting or refusing
        self._closed_early = ""  # why the broker closed the first connection before CONNACK
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._network, name="mqtt-network", daemon=True)
        self._props = Properties(PacketTypes.CONNECT)
        self._props.SessionExpiryInterval = 0
        client = paho.Client(client_id=self.client_id, protocol=paho.MQTTv5)
        client.reconnect_delay_set(0.5, 4)
        settings = broker.settings
        if broker.tls:
            client.tls_set_context(tls_context(settings))
        if settings.mqtt_username:
            client.username_pw_set(settings.mqtt_username, settings.mqtt_password or None)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        if on_message is not None:
            client.on_message = lambda _c, _u, message: on_message(message)
        self.client = client

    def start(self) -> None:
        """Connect once in this thread, then keep the connection up on paho's thread.

        Raises BrokerSetupError for a certificate the CA does not trust or a refusal no
        retry fixes; a broker that does not answer yet is only logged."""
        self._refresh_token()
        try:
            self.client.connect(
                self.broker.host, self.broker.port, KEEPALIVE_S, properties=self._props
            )
        except ssl.SSLCertVerificationError as exc:
            raise BrokerSetupError(
                f"MQTT broker {self.broker.url}: its certificate is not trusted "
                f"({exc.verify_message}; check MQTT_CA_FILE)"
            ) from None
        except ssl.SSLError as exc:
            raise BrokerSetupError(
                f"MQTT broker {self.broker.url}: TLS failed ({exc}){self._cert_hint()}"
            ) from None
        except OSError as exc:
            self.last_error = exc.strerror or str(exc) or type(exc).__name__
            log.warning(
                "MQTT broker %s unreachable (%s); retrying", self.broker.url, self.last_error
            )
        self._thread.start()
        if not self.last_error:
            self._answered.wait(CONNACK_WAIT_S)
        if self.refused:
            self.close()
            raise BrokerSetupError(f"MQTT broker {self.broker.url} refused us: {self.refused}")
        if self._closed_early and not self.connected.is_set():
            self.close()
            raise BrokerSetupError(
                f"MQTT broker {self.broker.url} closed the connection before accepting "
                f"it ({self._closed_early}){self._cert_hint()}"
            )

    def _cert_hint(self) -> str:
        """What to check when a TLS broker hangs up on a client without a certificate."""
        if self.broker.tls and not self.broker.settings.mqtt_cert_file:
            return "; a listener that wants client certificates needs MQTT_CERT_FILE"
        return ""

    def wait(self, timeout_s: float) -> bool:
        """True once connected (CONNACK success) within `timeout_s`."""
        return self.connected.wait(timeout_s)

    def close(self) -> None:
        self._stop.set()
        try:
            self.client.disconnect()
        except (ssl.SSLError, OSError):  # the broker already closed the connection
            pass
        if self._thread.is_alive():
            self._thread.join(2.0)
        self.connected.clear()

    def _network(self) -> None:
        """paho's network loop, kept alive: an SSL error paho lets through (a broker that
        wants a client certificate says so after the handshake) is noted and retried."""
        while not self._stop.is_set():
            try:
                self.client.loop_forever(retry_first_connection=True)
            except Exception as exc:  # the loop must never die while the module runs
                self._network_error(exc)
            if self._stop.wait(RETRY_S):
                return
            try:
                self.client.reconnect()  # a fresh socket; loop_forever retries after this
            except Exception as exc:
                self._network_error(exc)

    def _network_error(self, exc: Exception) -> None:
        self.connected.clear()
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, ssl.SSLError) and "CERTIFICATE_REQUIRED" in reason:
            self.refused = "it requires a client certificate (MQTT_CERT_FILE, MQTT_KEY_FILE)"
        if reason != self.last_error:
            log.warning("MQTT broker %s: %s", self.broker.url, reason)
        self.last_error = reason
        self._answered.set()

    def _refresh_token(self) -> None:
        if self.broker.settings.mqtt_sat_file:
            self._props.AuthenticationMethod = SAT_METHOD
            self._props.AuthenticationData = read_token(self.broker.settings.mqtt_sat_file)

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        self._answered.set()
        if getattr(rc, "value", rc) == 0:
            self.last_error = ""
            if self.subscription:
                client.subscribe(self.subscription, qos=1)
            self.connected.set()
            return
        self.last_error = f"refused: {rc}"
        if str(rc) in FATAL_CONNACK:
            self.refused = str(rc)
        log.warning("MQTT broker %s refused the connection: %s", self.broker.url, rc)

    def _on_disconnect(self, _c: paho.Client, _u: Any, rc: Any, _p: Any = None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if not self._answered.is_set():  # closed before any CONNACK: start() reports it
            self._closed_early = paho.error_string(rc) if isinstance(rc, int) else str(rc)
            self._answered.set()
        if getattr(rc, "value", rc) != 0 and was:
            self.last_error = f"connection lost ({rc})"
            log.warning("MQTT broker %s: %s", self.broker.url, self.last_error)
        try:
            self._refresh_token()  # the next attempt sends the current token
        except BrokerSetupError as exc:
            self.last_error = str(exc)
            log.error("%s", exc)

    def publish(self, topic: str, payload: bytes, properties: Properties) -> paho.MQTTMessageInfo:
        """Queue one QoS 1 message; ConnectionError (nothing queued) when not connected."""
        if not self.connected.is_set():
            raise ConnectionError(self.last_error or "not connected")
        return self.client.publish(topic, payload, qos=1, properties=properties)


def acknowledged(info: paho.MQTTMessageInfo) -> bool:
    """True once the broker acknowledged the message (PUBACK). paho keeps a message it
    could not send yet (connection lost) and sends it after reconnecting, so `rc` > 0
    does not mean lost: its flag is read directly (is_published() raises then)."""
    return bool(info._published)  # noqa: SLF001


def await_puback(info: paho.MQTTMessageInfo, timeout_s: float) -> bool:
    """True once the broker acknowledged `info`, False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    if info.rc in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_AGAIN):
        info.wait_for_publish(timeout_s)
    while not acknowledged(info) and time.monotonic() < deadline:
        time.sleep(0.02)
    return acknowledged(info)
