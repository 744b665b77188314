"""IoT Hub sink: rate-controlled messages into the outbox; never waits on the network."""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ... import __version__
from ...config import IoTHubSettings
from ...control.live import LiveSettings
from ...results import FrameResult
from .client import HubClient
from .message import OutgoingMessage, build_messages
from .outbox import Outbox
from .rate import RateControl
from ...control.twin import TwinService

log = logging.getLogger(__name__)

METHOD_PAYLOAD_BYTES = 120 * 1024  # direct-method payloads are capped at 128 KB
SHUTDOWN_TIMEOUT_S = 5.0


class IoTHubSink:
    """Turns results into messages (see `message.py`) and queues them for the hub."""

    def __init__(self, settings: IoTHubSettings, live: LiveSettings, client: HubClient,
                 backoff_s: float = 0.25, max_backoff_s: float = 4.0) -> None:
        self.settings = settings
        self.live = live
        self.client = client
        self.rate = RateControl(settings.send_mode, settings.change_iou)
        self.outbox: Outbox[OutgoingMessage] = Outbox(
            client.send, settings.outbox_size, backoff_s, max_backoff_s, self._on_drop)
        self.twin = TwinService(client, live, self.status, self.last_detections,
                                settings.report_interval)
        self.frames = 0
        self.seq = 0
        self._last: FrameResult | None = None
        self._fps = 0.0
        self._fps_start = 0.0
        self._fps_frames = 0
        self._lock = threading.Lock()

    def __enter__(self) -> "IoTHubSink":
        self._fps_start = time.monotonic()
        self.outbox.start()
        self.twin.start()
        return self

    def __exit__(self, *exc: object) -> None:
        remaining = self.outbox.close(self.settings.flush_timeout)
        log.info("IoT Hub: %d messages sent, %d dropped, %d undelivered at shutdown",
                 self.outbox.sent, self.outbox.dropped, remaining)
        self.twin.close()
        done = threading.Thread(target=self.client.sdk.shutdown, name="iothub-shutdown",
                                daemon=True)
        done.start()
        done.join(SHUTDOWN_TIMEOUT_S)

    def write(self, result: FrameResult) -> None:
        now = time.monotonic()
        self._track_fps(now)
        with self._lock:
            self._last = FrameResult(result.index, result.timestamp, result.source_id,
                                     result.detections, result.timings)
        interval = float(self.live.get("sendInterval"))
        decision = self.rate.decide(result.detections, now, interval, self.outbox.dropped)
        if decision.summary is not None:
            self._queue(result, "summary", decision.summary)
        elif decision.detections:
            self._queue(result, "detections", None)

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
        }

    def last_detections(self) -> dict[str, Any] | None:
        """The latest frame's detections, as a message body (getLastDetections)."""
        with self._lock:
            last = self._last
        if last is None:
            return None
        return build_messages(last, "detections", self.seq, self.live.model, self.live.backend,
                              max_body=METHOD_PAYLOAD_BYTES)[0].to_json()

    def _queue(self, result: FrameResult, kind: str, summary: dict[str, Any] | None) -> None:
        for message in build_messages(result, kind, self.seq, self.live.model,
                                      self.live.backend, summary):
            self.outbox.put(message)
        self.seq += 1

    def _track_fps(self, now: float) -> None:
        self.frames += 1
        self._fps_frames += 1
        elapsed = now - self._fps_start
        if elapsed >= 2.0:
            self._fps = self._fps_frames / elapsed
            self._fps_start, self._fps_frames = now, 0

    def _on_drop(self, total: int) -> None:
        self.twin.request_report()
