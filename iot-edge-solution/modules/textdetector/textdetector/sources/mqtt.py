"""MQTT snapshot source: JPEG (or PNG) images published to a topic, e.g. by Azure IoT
Operations' media connector (`CAMERA_PATH=mqtts://broker:8883/cameras/cam1/snapshot`).

A payload is a raw image or a CloudEvent carrying one (binary mode: the payload; structured
mode: `data_base64`), checked as the HTTP service checks an upload (format and declared
size from the header, then the decoder). Anything else is skipped and counted in the
source's health under a reason (`not_image`, `too_large`, `bad_cloudevent`), never
fatal. The source is live: it is wrapped in a `ReconnectingSource` like a camera, so a
lost broker connection means `reconnecting` in health and a fresh connection after the
backoff. The broker settings (TLS, client certificate, K8S-SAT token) are MQTT_*'s.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable

import numpy as np
from paho.mqtt.client import MQTTMessage

from ..config import MqttSettings
from ..errors import SourceError
from ..mqtt import Broker, BrokerSetupError, Connection, broker_from_url
from ..mqtt.auth import precheck
from ..mqtt.connection import default_client_id
from ..mqtt.events import from_mqtt
from ..serve.decode import Limits, decode, read_header
from ..serve.errors import RequestError
from .base import Frame

log = logging.getLogger(__name__)

POLL_S = 0.1
MAX_PIXELS = 8192 * 8192  # larger declared images are skipped (too_large) before decoding
QUEUE_SIZE = 4  # payloads waiting to be decoded; the oldest is dropped beyond it

Counter = Callable[[str], None]


def mqtt_broker(url: str, settings: MqttSettings) -> Broker:
    """The broker and topic a CAMERA_PATH names; SourceError for what is wrong up front."""
    try:
        broker = broker_from_url(url, settings, need_topic=True)
        precheck(broker)
    except BrokerSetupError as exc:
        raise SourceError(f"CAMERA_PATH {url}: {exc}") from None
    return broker


def image_bytes(payload: bytes, properties: object) -> tuple[bytes | None, str]:
    """The encoded image a message carries and '' , or None and the reason to skip it."""
    try:
        event = from_mqtt(payload, properties)
    except ValueError:
        return None, "bad_cloudevent"
    if event is None:
        return payload, ""
    data = event.get_data()
    if isinstance(data, (bytes, bytearray)):
        return bytes(data), ""
    return None, "not_image"


class MqttSnapshotSource:
    """One subscription on one connection; `read` returns the next decodable image."""

    live = True
    # Snapshots come when a publisher sends them (once a minute is normal); `read`
    # raises once the broker connection is lost, so the reconnect watchdog must not
    # take a quiet topic, or one that carries only skipped payloads, for a stall.
    idle_is_normal = True

    def __init__(
        self,
        url: str,
        settings: MqttSettings,
        skipped: Counter | None = None,
        dropped: Callable[[int], None] | None = None,
        broker: Broker | None = None,
    ) -> None:
        self.broker = broker or mqtt_broker(url, settings)
        self.source_id = url
        self.max_bytes = settings.mqtt_max_snapshot_bytes
        self._skipped = skipped or (lambda reason: None)
        self._dropped = dropped or (lambda n: None)
        self._items: queue.Queue[MQTTMessage] = queue.Queue(maxsize=QUEUE_SIZE)
        self._index = 0
        client_id = settings.mqtt_client_id and f"{settings.mqtt_client_id}-in"
        self.connection = Connection(
            self.broker,
            client_id or default_client_id("textdetector-in"),
            on_message=self._on_message,
            subscribe=self.broker.topic,
        )

    def open(self) -> None:
        try:
            self.connection.start()
        except BrokerSetupError as exc:
            raise SourceError(str(exc)) from None
        if not self.connection.wait(0):
            raise SourceError(f"MQTT broker {self.broker.url}: {self.connection.last_error}")
        log.info("MQTT source: subscribed to %s on %s", self.broker.topic, self.broker.url)

    def _on_message(self, message: MQTTMessage) -> None:
        """paho's thread: hand the message over; the oldest waiting one goes if full."""
        while True:
            try:
                self._items.put_nowait(message)
                return
            except queue.Full:
                try:
                    self._items.get_nowait()
                    self._dropped(1)
                except queue.Empty:
                    pass

    def read(self) -> Frame | None:
        """The next image; SourceError once the broker connection is lost."""
        while True:
            try:
                message = self._items.get(timeout=POLL_S)
            except queue.Empty:
                if not self.connection.connected.is_set():
                    reason = self.connection.last_error or "connection lost"
                    raise SourceError(f"MQTT broker {self.broker.url}: {reason}") from None
                continue
            image = self._decode(message)
            if image is not None:
                frame = Frame(self._index, time.time(), image)
                self._index += 1
                return frame

    def _decode(self, message: MQTTMessage) -> np.ndarray | None:
        """The image a message carries, checked like an HTTP upload: its header first
        (format, declared size against MAX_PIXELS), then the decoder."""
        payload = message.payload
        if len(payload) > self.max_bytes:
            self._skip("too_large", f"{len(payload)} bytes > {self.max_bytes}")
            return None
        data, reason = image_bytes(payload, getattr(message, "properties", None))
        if data is None:
            self._skip(reason, "")
            return None
        try:
            return decode(data, read_header(data, Limits(self.max_bytes, MAX_PIXELS)))
        except RequestError as exc:
            self._skip("too_large" if exc.status == 413 else "not_image", exc.message)
            return None

    def _skip(self, reason: str, detail: str) -> None:
        self._skipped(reason)
        log.debug("MQTT source %s: skipped a payload (%s) %s", self.source_id, reason, detail)

    def close(self) -> None:
        self.connection.close()
