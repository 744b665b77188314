"""MQTT sink: rate-controlled CloudEvents into the shared outbox; never waits on the network.

Each event is published with QoS 1 and leaves the outbox only once the broker
acknowledged it (PUBACK), so with the broker down the outbox holds up to
MQTT_OUTBOX_SIZE events, in order, and delivers them when it is back. A message that was
in flight when the connection dropped is re-sent by the MQTT client itself, never
queued twice; consumers may still see a duplicate (QoS 1 is at least once): the
CloudEvents `id` tells them apart.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import MQTTMessageInfo
from paho.mqtt.properties import Properties

from ...config import MqttSettings
from ...errors import ConfigError
from ...mqtt import BrokerSetupError, Connection, broker_from_url
from ...mqtt.auth import precheck
from ...mqtt.connection import await_puback
from ...mqtt.events import event_source, make_event, to_mqtt
from ...results import FrameResult
from ...sources.health import HealthRegistry
from ..delivery import EndedAppearance, Outbox, RateControl, TextEvents
from ..shutdown import ShutdownBudget

log = logging.getLogger(__name__)

PUBACK_WAIT_S = 10.0


def topic_segment(source_id: str) -> str:
    """A source id as one topic level: letters, digits, `._-` kept, the rest `_`."""
    text = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", source_id)
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")
    return text[:100] or "source"


@dataclass
class Outgoing:
    """One event ready to publish; `info` is set once handed to the MQTT client."""

    topic: str
    payload: bytes
    properties: Properties
    info: MQTTMessageInfo | None = None


class MqttSink:
    """Publishes every result (MQTT_SEND_MODE), interval summaries, text appearances
    (MQTT_TEXT_EVENTS) and source state changes as CloudEvents."""

    def __init__(
        self,
        settings: MqttSettings,
        text_event_gap: int = 5,
        text_event_min_frames: int = 3,
        health: HealthRegistry | None = None,
        budget: ShutdownBudget | None = None,
        backoff_s: float = 0.25,
        max_backoff_s: float = 4.0,
    ) -> None:
        self.settings = settings
        self.broker = broker_from_url(settings.mqtt_url, settings)
        self.connection: Connection | None = None
        self.rate = RateControl(settings.mqtt_send_mode, 0.5)
        self.outbox: Outbox[Outgoing] = Outbox(
            self._send, settings.mqtt_outbox_size, backoff_s, max_backoff_s, name="MQTT broker"
        )
        self.text_events = (
            TextEvents(text_event_gap, text_event_min_frames) if settings.mqtt_text_events else None
        )
        self.health, self.budget = health, budget
        self.run_id = uuid.uuid4().hex[:12]
        self.seq = 0
        self._seq_lock = threading.Lock()  # state changes come from the source threads

    def __enter__(self) -> MqttSink:
        try:
            precheck(self.broker)
            self.connection = Connection(self.broker, self.settings.mqtt_client_id)
            self.connection.start()
        except BrokerSetupError as exc:
            raise ConfigError(str(exc)) from None
        self.outbox.start()
        if self.health is not None:
            self.health.add_listener(self._on_source_state)
        log.info("MQTT: publishing to %s as %s", self.broker.url, self.connection.client_id)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.text_events is not None:
            self._appearances(self.text_events.close())
        remaining = self.outbox.close(self._grace(self.settings.mqtt_flush_timeout))
        log.info(
            "MQTT: %d events sent, %d dropped, %d undelivered at shutdown",
            self.outbox.sent,
            self.outbox.dropped,
            remaining,
        )
        if self.connection is not None:
            self.connection.close()

    def _grace(self, cap: float) -> float:
        return cap if self.budget is None else self.budget.remaining(cap)

    def write(self, result: FrameResult) -> None:
        now = time.monotonic()
        decision = self.rate.decide(
            result.detections, now, self.settings.mqtt_send_interval, self.outbox.dropped
        )
        if self.text_events is not None:
            self._appearances(self.text_events.update(result))
        every = self.settings.mqtt_send_mode == "every"
        if decision.detections or (every and decision.summary is not None):
            self._queue("result", result.source_id, result.to_dict())
        if decision.summary is not None:
            summary = {"source": result.source_id, **decision.summary}
            self._queue("summary", result.source_id, summary)

    def _appearances(self, ended: list[EndedAppearance]) -> None:
        for item in ended:
            height, width = item.image_size
            data = {"source": item.source_id, "width": width, "height": height}
            self._queue("textAppearance", item.source_id, {**data, **item.appearance.to_dict()})

    def _on_source_state(self, event: dict[str, Any]) -> None:
        self._queue("sourceState", event["source"], dict(event))

    def _queue(self, kind: str, source_id: str, data: dict[str, Any]) -> None:
        """Number, wrap and queue one event; in sequence order across threads."""
        client_id = self.connection.client_id if self.connection is not None else "textdetector"
        topic = self.settings.mqtt_topic.format(source=topic_segment(source_id), type=kind)
        with self._seq_lock:
            seq, self.seq = self.seq, self.seq + 1
            source = event_source(client_id, source_id)
            event = make_event(kind, source, source_id, data, f"{self.run_id}-{seq}", seq)
            payload, props = to_mqtt(event, self.settings.mqtt_cloudevents)
            self.outbox.put(Outgoing(topic, payload, props))

    def _send(self, item: Outgoing) -> None:
        """Publish `item` once and wait for its PUBACK; raise (the outbox retries) if not."""
        assert self.connection is not None
        if item.info is None:
            item.info = self.connection.publish(item.topic, item.payload, item.properties)
        if not await_puback(item.info, PUBACK_WAIT_S if self.connection.connected.is_set() else 0):
            raise ConnectionError(self.connection.last_error or "no acknowledgement")
