"""Live sources that survive the real world: reconnect with backoff, a read watchdog.

`ReconnectingSource` wraps a live FrameSource factory (a camera, a stream) and never
lets a dropped connection end the run: on an open failure, a read failure, an end of
stream or a read that stalls longer than `watchdog_s`, it opens a fresh capture after an
exponential backoff with jitter (`backoff_delays`). Files are never reconnected
(`live_sources` leaves them plain CaptureSources): they end, and their failures stay fatal.

Health: `reconnecting` while it retries quickly; `down` once the wait between attempts
has grown to `max_delay_s` (the source has been failing for a while; it still retries,
every `max_delay_s`), and `connected` again with the next frame. Giving up: with
`attempts` = 0 (the default for live sources) it retries for ever; with `attempts` =
N > 0, after N failed attempts in a row its health turns `down` and `read` raises
SourceError (exit code 4).
A camera (index or /dev/videoN) that fails its very first open is fatal at once: in a
container the devices are fixed when it starts, so waiting cannot help. Problems found
before opening (a missing device node, a GStreamer pipeline without GStreamer) are
fatal for every kind.

Each capture is opened and read on its own daemon thread. A read that never returns
(a dead RTSP peer FFmpeg does not notice) is abandoned on that thread, which releases
its capture and exits if the read ever returns; at most `MAX_STUCK` abandoned threads
are tolerated at once, so reconnecting never leaks threads. Frame indices and
timestamps stay monotonic across reconnects.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..config import MqttSettings, SourceSettings
from ..errors import SourceError
from .base import Frame, FrameSource
from .capture import CaptureSource, SourceSpec, classify, open_all, redact, source_paths
from .health import CONNECTED, DOWN, RECONNECTING, HealthRegistry

log = logging.getLogger(__name__)

JITTER = 0.25  # a delay is drawn from [75 %, 100 %] of its nominal value
MAX_STUCK = 4  # abandoned capture threads tolerated at once
POLL_S = 0.1  # how often a waiting read checks for close()
_OPENED = object()
_names = itertools.count(1)


def backoff_delays(
    first_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> Iterator[float]:
    """Delays before each reconnect attempt: first_s, 2*first_s, 4*first_s ... up to max_s,
    each lowered by up to JITTER at random (so cameras sharing a recorder do not all come
    back at the same instant), never below first_s. Nominal values double, so the delays
    grow strictly until they reach max_s, whatever the jitter."""
    nominal = first_s
    while True:
        yield max(first_s, min(nominal, max_s) * (1.0 - JITTER * rand()))
        nominal *= 2


@dataclass(frozen=True)
class ReconnectPolicy:
    """RECONNECT_DELAY, RECONNECT_MAX_DELAY, RECONNECT_ATTEMPTS (0 = for ever), and the
    seconds a read may take before the watchdog abandons it."""

    delay_s: float = 1.0
    max_delay_s: float = 30.0
    attempts: int = 0
    watchdog_s: float = 10.0


class _Capture:
    """One capture opened and read on its own daemon thread into a small queue.

    The thread puts _OPENED, then frames (dropping the oldest when nobody takes them),
    then an exception when the capture fails or ends. `abandon()` tells it to stop; a
    read stuck in native code keeps the thread until that read returns, then the
    thread closes the capture and exits.
    """

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self.items: queue.Queue = queue.Queue(maxsize=2)
        self.dropped = 0
        self.delivered = False
        self.opened = False
        # A source whose read() itself raises when its connection is lost (an MQTT
        # subscription) may be quiet for as long as nobody publishes: no stall watchdog.
        self.idle_is_normal = bool(getattr(source, "idle_is_normal", False))
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, daemon=True, name=f"capture-{next(_names)}"
        )
        self.thread.start()

    def _run(self) -> None:
        try:
            self.source.open()
            self._put(_OPENED)
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    raise SourceError(f"{self.source.source_id} ended")
                self._put(frame)
        except Exception as exc:  # every failure is a reason to reconnect
            self._put(exc)
        finally:
            self.source.close()

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self.items.put_nowait(item)
                return
            except queue.Full:
                try:
                    if isinstance(self.items.get_nowait(), Frame):
                        self.dropped += 1
                except queue.Empty:
                    pass

    def abandon(self) -> None:
        self._stop.set()


class ReconnectingSource:
    """A FrameSource over a live source that reconnects instead of ending.

    `factory` makes a fresh, unopened FrameSource per attempt. `open()` only checks what
    can be checked up front (`precheck`) and starts connecting; `read()` blocks until a
    frame, through any reconnects, returns None once `close()` was called, and raises
    SourceError when the policy gives up.
    """

    live = True
    self_healing = True  # the loop's own stall check does not apply: the watchdog covers it
    close_from_any_thread = True  # close() wakes a read() blocked on another thread

    def __init__(
        self,
        factory: Callable[[], FrameSource],
        source_id: str,
        policy: ReconnectPolicy,
        health: HealthRegistry | None = None,
        precheck: Callable[[], object] | None = None,
        retry_first_open: bool = True,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.factory, self.source_id, self.policy = factory, source_id, policy
        self.health = health if health is not None else HealthRegistry()
        self.precheck, self.retry_first_open, self.rand = precheck, retry_first_open, rand
        self.delays_waited: list[float] = []  # every backoff delay, for logs and tests
        self.spec: SourceSpec | None = None  # what CAMERA_PATH named, when known
        self._capture: _Capture | None = None
        self._stuck: list[_Capture] = []
        self._closed = threading.Event()
        self._delays: Iterator[float] | None = None
        self._attempts = 0  # reconnect attempts since the last frame
        self._ever_delivered = False
        self._next_index = 0
        self._last_timestamp = float("-inf")

    def open(self) -> None:
        if self.precheck is not None:
            self.precheck()
        self.health.register(self.source_id, live=True)
        self._capture = _Capture(self.factory())

    def read(self) -> Frame | None:
        while not self._closed.is_set():
            if self._capture is None and not self._reconnect():
                return None
            # One reference for the whole step: close() on another thread may reset
            # self._capture at any moment, and the frame still belongs to this capture.
            capture = self._capture
            if capture is None:
                continue
            item = self._next_item(capture)
            if item is None:
                break
            if item is _OPENED:
                if capture.idle_is_normal:
                    self._connected()  # subscribed: up, whether or not anything comes
                continue
            if isinstance(item, Frame):
                return self._deliver(item, capture)
            self._lost(item)
        return None

    def _next_item(self, capture: _Capture) -> object:
        """The capture's next item, None once closed, or a stall error from the watchdog.

        A capture that has not delivered yet gets twice the time: opening a stream
        includes FFmpeg probing it. A source that is idle by nature (`idle_is_normal`)
        is watched only until it opened: after that a quiet feed is not a stall.
        """
        limit = self.policy.watchdog_s * (1 if capture.delivered else 2)
        deadline = time.monotonic() + limit
        while not self._closed.is_set():
            if capture.idle_is_normal and capture.opened:
                deadline = time.monotonic() + limit
            try:
                wait = min(POLL_S, max(0.0, deadline - time.monotonic()))
                item = capture.items.get(timeout=wait)
                capture.delivered = capture.delivered or isinstance(item, Frame)
                capture.opened = capture.opened or item is _OPENED
                return item
            except queue.Empty:
                if time.monotonic() >= deadline:
                    return SourceError(f"no frame for {limit:g} s: read stalled")
        return None

    def _connected(self) -> None:
        self._attempts, self._delays, self._ever_delivered = 0, None, True
        self.health.set_state(self.source_id, CONNECTED)

    def _deliver(self, frame: Frame, capture: _Capture) -> Frame:
        self._connected()
        dropped, capture.dropped = capture.dropped, 0
        self.health.count(self.source_id, read=1, dropped=dropped)
        timestamp = max(frame.timestamp, self._last_timestamp + 1e-6)
        frame = dataclasses.replace(frame, index=self._next_index, timestamp=timestamp)
        self._next_index += 1
        self._last_timestamp = timestamp
        return frame

    def _lost(self, error: object) -> None:
        """The current capture failed: abandon it; give up if the policy says so."""
        reason = str(error) or type(error).__name__
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.abandon()
            self._stuck.append(capture)
        if not self._ever_delivered and not self.retry_first_open:
            self.health.set_state(self.source_id, DOWN, reason)
            raise error if isinstance(error, SourceError) else SourceError(reason)
        self.health.set_state(self.source_id, self._failing_state(), reason)
        log.warning("source %s: %s; reconnecting", self.source_id, reason)

    def _failing_state(self) -> str:
        """`down` once the backoff has grown to its longest wait, else `reconnecting`."""
        slow = (
            self._attempts >= 1
            and self.policy.delay_s * 2 ** min(self._attempts, 64) >= self.policy.max_delay_s
        )
        return DOWN if slow else RECONNECTING

    def _reconnect(self) -> bool:
        """Wait out the next backoff delay, then start a new capture; False once closed.

        Raises SourceError (health `down`) once `attempts` reconnects in a row failed.
        """
        if self._delays is None:
            self._delays = backoff_delays(self.policy.delay_s, self.policy.max_delay_s, self.rand)
        while True:
            self._give_up_if_exhausted()
            delay = next(self._delays)
            self.delays_waited.append(delay)
            if self._closed.wait(delay):
                return False
            self._attempts += 1
            self.health.count(self.source_id, reconnects=1)
            self._stuck = [c for c in self._stuck if c.thread.is_alive()]
            if len(self._stuck) < MAX_STUCK:
                self._capture = _Capture(self.factory())
                return True
            self.health.set_state(
                self.source_id,
                self._failing_state(),
                f"{len(self._stuck)} earlier reads never returned",
            )

    def _give_up_if_exhausted(self) -> None:
        limit = self.policy.attempts
        if not limit or self._attempts < limit:
            return
        reason = self.health.snapshot()[self.source_id]["last_error"]
        self.health.set_state(self.source_id, DOWN)
        log.error("source %s: gave up after %d reconnect attempts", self.source_id, limit)
        raise SourceError(f"{self.source_id}: gave up after {limit} reconnect attempts: {reason}")

    def close(self) -> None:
        self._closed.set()
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.abandon()
            capture.thread.join(timeout=1.0)

    @property
    def stuck_threads(self) -> int:
        """Abandoned capture threads still blocked in a read."""
        return sum(1 for c in self._stuck if c.thread.is_alive())


def policy_from(settings: SourceSettings) -> ReconnectPolicy:
    return ReconnectPolicy(
        settings.reconnect_delay,
        settings.reconnect_max_delay,
        settings.reconnect_attempts,
        settings.source_timeout,
    )


def reconnecting(
    spec: SourceSpec,
    settings: SourceSettings,
    health: HealthRegistry,
    mqtt: MqttSettings | None = None,
) -> FrameSource:
    """A FrameSource for one CAMERA_PATH entry: files plain, live sources reconnecting."""
    if not spec.live:
        return CaptureSource(spec, settings.loop, settings.source_timeout)
    if spec.kind == "mqtt":
        return mqtt_reconnecting(str(spec.target), settings, health, mqtt or MqttSettings())

    def factory() -> CaptureSource:
        return CaptureSource(spec, False, settings.source_timeout)

    source = ReconnectingSource(
        factory,
        redact(spec.target),
        policy_from(settings),
        health,
        precheck=factory().check,
        retry_first_open=spec.kind != "camera",
    )
    source.spec = spec
    return source


def mqtt_reconnecting(
    url: str, settings: SourceSettings, health: HealthRegistry, mqtt: MqttSettings
) -> ReconnectingSource:
    """An MQTT snapshot source that reconnects; skipped payloads counted in health."""
    from .mqtt import MqttSnapshotSource, mqtt_broker  # paho-mqtt only when used

    broker = mqtt_broker(url, mqtt)  # SourceError at start for a bad URL, CA or token

    def factory() -> MqttSnapshotSource:
        return MqttSnapshotSource(
            url,
            mqtt,
            skipped=lambda reason: health.skip(source.source_id, reason),
            dropped=lambda n: health.count(source.source_id, dropped=n),
            broker=broker,
        )

    source = ReconnectingSource(
        factory, redact(url), policy_from(settings), health, precheck=lambda: mqtt_broker(url, mqtt)
    )
    source.spec = SourceSpec("mqtt", url)
    return source


def live_sources(
    settings: SourceSettings, health: HealthRegistry, mqtt: MqttSettings | None = None
) -> list[FrameSource]:
    """Open every CAMERA_PATH source (`|`-separated), live ones reconnecting, all
    registered in `health` under unique ids. A file that cannot open, or a check that
    fails up front, raises SourceError after closing those already open."""

    def opened(source: FrameSource) -> None:
        if not source.live:
            health.register(source.source_id, live=False)
            health.set_state(source.source_id, CONNECTED)

    return open_all(
        source_paths(settings.camera_path),
        lambda path: reconnecting(classify(path), settings, health, mqtt),
        opened,
    )
