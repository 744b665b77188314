"""IoT Hub sink: rate-controlled messages into the outbox; never waits on the network."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ... import __version__
from ...config import IoTHubSettings
from ...control.live import LiveSettings
from ...control.twin import TwinService
from ...results import FrameResult
from ...sources.health import HealthRegistry
from ..delivery import EndedAppearance, Outbox, RateControl, TextEvents
from ..shutdown import ShutdownBudget
from .client import HubClient
from .message import (
    OutgoingMessage,
    build_messages,
    build_source_state,
    build_text_appearance,
    source_health,
)

log = logging.getLogger(__name__)

METHOD_PAYLOAD_BYTES = 120 * 1024  # direct-method payloads are capped at 128 KB
SHUTDOWN_TIMEOUT_S = 5.0


class IoTHubSink:
    """Turns results into messages (see `message.py`) and queues them for the hub.

    With a `HealthRegistry`, every source state change is sent as a `sourceState`
    message and triggers a twin report (`sources` in the status); with a
    `ShutdownBudget`, the final flush takes only what is left of it. With TEXT_EVENTS,
    each line of text read is one `textAppearance` message when it ends (open ones at
    shutdown) instead of per-frame `detections` messages; summaries are kept.
    """

    def __init__(
        self,
        settings: IoTHubSettings,
        live: LiveSettings,
        client: HubClient,
        backoff_s: float = 0.25,
        max_backoff_s: float = 4.0,
        health: HealthRegistry | None = None,
        budget: ShutdownBudget | None = None,
    ) -> None:
        self.settings = settings
        self.live = live
        self.client = client
        # text events replace per-frame messages: frames then only feed the summaries
        mode = "interval" if settings.text_events else settings.send_mode
        self.rate = RateControl(mode, settings.change_iou)
        self.outbox: Outbox[OutgoingMessage] = Outbox(
            client.send, settings.outbox_size, backoff_s, max_backoff_s, self._on_drop, "hub"
        )
        self.twin = TwinService(
            client, live, self.status, self.last_detections, settings.report_interval
        )
        self.frames = 0
        self.seq = 0
        self._last: FrameResult | None = None
        self._fps = 0.0
        self._fps_start = 0.0
        self._fps_frames = 0
        self._lock = threading.Lock()
        self._seq_lock = threading.Lock()
        self.health, self.budget = health, budget
        self.text_events = (
            TextEvents(settings.text_event_gap, settings.text_event_min_frames)
            if settings.text_events
            else None
        )
        if health is not None:
            health.add_listener(self._on_source_state)

    def __enter__(self) -> IoTHubSink:
        self._fps_start = time.monotonic()
        self.outbox.start()
        self.twin.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.text_events is not None:
            self._send_appearances(self.text_events.close())
        remaining = self.outbox.close(self._grace(self.settings.flush_timeout))
        log.info(
            "IoT Hub: %d messages sent, %d dropped, %d undelivered at shutdown",
            self.outbox.sent,
            self.outbox.dropped,
            remaining,
        )
        self.twin.close(self._grace(2.0))
        done = threading.Thread(
            target=self.client.sdk.shutdown, name="iothub-shutdown", daemon=True
        )
        done.start()
        done.join(self._grace(SHUTDOWN_TIMEOUT_S))
        if done.is_alive():
            log.warning("IoT Hub: client not closed within the shutdown grace period")

    def _grace(self, cap: float) -> float:
        """Seconds this step may take: `cap`, or less when the shared budget runs out."""
        return cap if self.budget is None else self.budget.remaining(cap)

    def write(self, result: FrameResult) -> None:
        now = time.monotonic()
        self._track_fps(now)
        with self._lock:
            self._last = FrameResult(
                result.index, result.timestamp, result.source_id, result.detections, result.timings
            )
        interval = float(self.live.get("sendInterval"))
        decision = self.rate.decide(result.detections, now, interval, self.outbox.dropped)
        if self.text_events is not None:
            self._send_appearances(self.text_events.update(result))
        if decision.summary is not None:
            self._queue(result, "summary", decision.summary)
        elif decision.detections:
            self._queue(result, "detections", None)

    def _send_appearances(self, ended: list[EndedAppearance]) -> None:
        for item in ended:
            self.outbox.put(
                build_text_appearance(
                    item.appearance,
                    item.source_id,
                    item.image_size,
                    self._next_seq(),
                    self.live.model,
                    self.live.backend,
                )
            )

    def status(self) -> dict[str, Any]:
        """What getStatus answers and the twin reports."""
        return {
            "version": __version__,
            "model": self.live.model,
            "backend": self.live.backend,
            "connection": self.client.mode,
            "online": self.outbox.online,
            "fps": round(self._fps, 2),
            "frames": self.frames,
            "sent": self.outbox.sent,
            "queued": len(self.outbox),
            "drops": self.outbox.dropped,
            "settings": self.live.snapshot(),
            "rejected": dict(self.live.rejected),
            **(
                {"sources": [source_health(entry) for entry in self.health.snapshot().values()]}
                if self.health is not None
                else {}
            ),
        }

    def last_detections(self) -> dict[str, Any] | None:
        """The latest frame's detections, as a message body (getLastDetections)."""
        with self._lock:
            last = self._last
        if last is None:
            return None
        return build_messages(
            last,
            "detections",
            self.seq,
            self.live.model,
            self.live.backend,
            max_body=METHOD_PAYLOAD_BYTES,
        )[0].to_json()

    def _queue(self, result: FrameResult, kind: str, summary: dict[str, Any] | None) -> None:
        seq = self._next_seq()
        for message in build_messages(
            result, kind, seq, self.live.model, self.live.backend, summary
        ):
            self.outbox.put(message)

    def _next_seq(self) -> int:
        with self._seq_lock:  # state changes come from the source threads
            seq, self.seq = self.seq, self.seq + 1
            return seq

    def _on_source_state(self, event: dict[str, Any]) -> None:
        """A source changed state: tell the hub (telemetry) and the twin (a report)."""
        assert self.health is not None
        entry = self.health.snapshot().get(event["source"])
        if entry is None:
            return
        self.outbox.put(
            build_source_state(event, entry, self._next_seq(), self.live.model, self.live.backend)
        )
        self.twin.request_report()

    def _track_fps(self, now: float) -> None:
        self.frames += 1
        self._fps_frames += 1
        elapsed = now - self._fps_start
        if elapsed >= 2.0:
            self._fps = self._fps_frames / elapsed
            self._fps_start, self._fps_frames = now, 0

    def _on_drop(self, total: int) -> None:
        self.twin.request_report()
