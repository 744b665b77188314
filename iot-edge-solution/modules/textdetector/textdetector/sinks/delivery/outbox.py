"""Bounded outbox drained in order on its own thread, with retry while offline.

Transport-agnostic: `send` delivers one item (to IoT Hub, to an MQTT broker) and raises
while the transport is down.

`put` never blocks: when the outbox is full the oldest message is dropped and counted
(the oldest one not being sent at that instant: a message in flight cannot be recalled,
so the newest `maxsize - 1` are always held).
The drain thread sends the head message and removes it only once the send succeeded;
failures (the hub is unreachable) are retried with exponential backoff, so order is
kept and nothing within the bound is lost.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Outbox(Generic[T]):
    """Holds messages for `send`, which raises while the transport is down."""

    def __init__(
        self,
        send: Callable[[T], None],
        maxsize: int = 1000,
        backoff_s: float = 0.25,
        max_backoff_s: float = 4.0,
        on_drop: Callable[[int], None] | None = None,
        name: str = "hub",
    ) -> None:
        self._send = send
        self.name = name  # the transport as logs name it: "hub", "MQTT broker"
        self.maxsize = maxsize
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._on_drop = on_drop
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._inflight: object = None
        self._abort = threading.Event()
        self.enqueued = self.sent = self.dropped = self.failures = 0
        self.online = False
        self._thread = threading.Thread(
            target=self._drain, name=f"outbox-{name.split()[0].lower()}", daemon=True
        )

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def start(self) -> Outbox[T]:
        self._thread.start()
        return self

    def put(self, item: T) -> None:
        """Queue `item`; drop the oldest one if the outbox is full. Never blocks."""
        dropped = 0
        with self._cond:
            while len(self._items) >= self.maxsize:
                if self._items[0] is self._inflight and len(self._items) > 1:
                    del self._items[1]  # the head is being sent: drop the next oldest
                else:
                    self._items.popleft()
                dropped += 1
            self._items.append(item)
            self.enqueued += 1
            self.dropped += dropped
            self._cond.notify()
        if dropped:
            if self.dropped == dropped or self.dropped % 100 < dropped:
                log.warning(
                    "outbox full (%d): dropped the oldest message, %d dropped in all",
                    self.maxsize,
                    self.dropped,
                )
            if self._on_drop is not None:
                self._on_drop(self.dropped)

    def close(self, timeout_s: float) -> int:
        """Deliver what is queued within `timeout_s`, then stop; returns how many remain."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._abort.set()
        remaining = len(self)
        if remaining:
            log.warning("shutdown: %d messages not delivered within %.0f s", remaining, timeout_s)
        return remaining

    def _drain(self) -> None:
        delay = self.backoff_s
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    self._cond.wait()
                if not self._items:
                    return
                item = self._inflight = self._items[0]
            try:
                self._send(item)
            except Exception as exc:  # the transport is down: keep the item, retry later
                with self._cond:
                    self._inflight = None  # waiting, not sending: the head may be dropped
                self.failures += 1
                if self.online or self.failures == 1:
                    log.warning(
                        "%s unreachable (%s); holding %d messages", self.name, exc, len(self)
                    )
                self.online = False
                if self._abort.wait(delay):
                    return
                delay = min(delay * 2, self.max_backoff_s)
                continue
            if not self.online and self.failures:
                log.info("%s reachable again; delivering %d held messages", self.name, len(self))
            self.online = True
            delay = self.backoff_s
            with self._cond:
                if self._items and self._items[0] is item:
                    self._items.popleft()
                self._inflight = None
                self.sent += 1


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll `predicate` until true or `timeout_s` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(step_s)
    return True
