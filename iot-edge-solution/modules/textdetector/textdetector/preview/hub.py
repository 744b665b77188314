"""The preview hub: the latest result of each source, drawn and encoded only on demand.

The run loop hands the hub every result it writes (the hub is a sink); the hub keeps
only a reference to the newest one per source, never a queue. Viewers ask for a JPEG
newer than the one they have: the first viewer to ask after `1 / fps` seconds draws
and encodes the newest frame (under the source's lock), the others reuse that JPEG.
So with no viewer nothing is drawn or encoded, and with any number of viewers a
source is encoded at most `fps` times a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..results import FrameResult

JPEG_QUALITY = 80
Drawer = Callable[[FrameResult], np.ndarray]


def draw(result: FrameResult) -> np.ndarray:
    """The frame with its boxes, text and scores drawn (reused frames marked)."""
    from ..drawing import annotate  # the one drawing module (boxes, text, CJK-safe font)

    assert result.image is not None
    return annotate(result.image, result.detections, reused=result.reused)


@dataclass(frozen=True)
class Encoded:
    """One encoded preview frame; `serial` grows with every new one of its source."""

    serial: int
    jpeg: bytes


class Feed:
    """One source: its newest result and the newest JPEG made of it."""

    def __init__(self, source_id: str) -> None:
        self.source_id = source_id
        self.latest: FrameResult | None = None  # written by the loop, a reference only
        self.encoded: Encoded | None = None
        self._encoded_from: FrameResult | None = None
        self._encoded_at = float("-inf")
        self._lock = threading.Lock()

    def newer_than(self, serial: int, interval_s: float, drawer: Drawer) -> Encoded | None:
        """A JPEG newer than `serial`, encoding the newest frame if the last encode is at
        least `interval_s` old; None when there is nothing new yet."""
        with self._lock:
            result = self.latest
            now = time.monotonic()
            stale = result is not None and result is not self._encoded_from
            if stale and now - self._encoded_at >= interval_s * 0.95:
                assert result is not None
                self.encoded = Encoded(
                    (self.encoded.serial + 1) if self.encoded else 1, encode(drawer(result))
                )
                self._encoded_from, self._encoded_at = result, now
            encoded = self.encoded
        return encoded if encoded is not None and encoded.serial > serial else None


def encode(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit BGR image
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


class PreviewHub:
    """Latest frame per source, viewer slots, and the stop signal for open streams.

    A sink (`write`) for the run loop and a source of JPEGs for the HTTP handlers."""

    def __init__(self, fps: float, max_clients: int, drawer: Drawer = draw) -> None:
        self.interval_s = 1.0 / fps
        self.max_clients = max_clients
        self.drawer = drawer
        self.closed = threading.Event()
        self._feeds: dict[str, Feed] = {}  # in the order the sources first delivered
        self._viewers = 0
        self._slots = threading.Lock()

    # the sink side: called by the run loop for every result it writes
    def __enter__(self) -> PreviewHub:
        return self

    def __exit__(self, *exc: object) -> None:
        """The loop ended; open streams end when the health server stops (`closed`)."""

    def write(self, result: FrameResult) -> None:
        """Keep a reference to `result` as its source's newest; nothing else."""
        if result.image is None:
            return
        feed = self._feeds.get(result.source_id)
        if feed is None:
            feed = self._feeds.setdefault(result.source_id, Feed(result.source_id))
        feed.latest = result

    # the viewer side: called by the HTTP handlers
    def sources(self) -> list[str]:
        """Source ids in the order they first delivered a frame (index = `source=N`)."""
        return list(self._feeds)

    def feed(self, index: int) -> Feed | None:
        feeds = list(self._feeds.values())
        return feeds[index] if 0 <= index < len(feeds) else None

    def join(self) -> bool:
        """Take a viewer slot; False when all `max_clients` are taken."""
        with self._slots:
            if self._viewers >= self.max_clients:
                return False
            self._viewers += 1
            return True

    def leave(self) -> None:
        with self._slots:
            self._viewers -= 1

    @property
    def viewers(self) -> int:
        return self._viewers
