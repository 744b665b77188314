"""Per-source health that operators see: state, since when, reconnects, frames.

States: `connected` (delivering frames), `reconnecting` (not delivering; opening again,
also before the first frame), `down` (given up, or a file that failed). A `HealthRegistry`
holds one `SourceHealth` per source; `snapshot()` gives plain dicts (for the console,
/metrics, the twin), and listeners hear every state change (for telemetry).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

log = logging.getLogger(__name__)

CONNECTED = "connected"
RECONNECTING = "reconnecting"
DOWN = "down"
STATES = (CONNECTED, RECONNECTING, DOWN)


@dataclass
class SourceHealth:
    """One source's counters; `since` is the wall-clock time of the last state change."""

    source_id: str
    live: bool
    state: str = RECONNECTING
    since: float = 0.0
    reconnects: int = 0
    frames_read: int = 0
    frames_dropped: int = 0
    last_error: str = ""
    skipped: dict[str, int] = field(default_factory=dict)  # payloads skipped, per reason


Listener = Callable[[dict], None]


class HealthRegistry:
    """Thread-safe health of every source. Listeners get a dict per state change:
    {source, state, previous, since, reconnects, reason}, called outside the lock;
    a listener that raises is logged and kept."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sources: dict[str, SourceHealth] = {}
        self._listeners: list[Listener] = []

    def register(self, source_id: str, live: bool) -> None:
        with self._lock:
            self._sources[source_id] = SourceHealth(source_id, live, since=self._clock())

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._sources)

    def forget(self, source_id: str) -> None:
        """Drop a source that is no longer read (CAMERA_PATH changed)."""
        with self._lock:
            self._sources.pop(source_id, None)

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def set_state(self, source_id: str, state: str, reason: str = "") -> None:
        """Move a source to `state`; listeners hear it only when the state changed."""
        if state not in STATES:
            raise ValueError(f"unknown source state {state!r}")
        with self._lock:
            health = self._sources[source_id]
            if reason:
                health.last_error = reason
            if health.state == state:
                return
            previous, health.state, health.since = health.state, state, self._clock()
            event = {
                "source": source_id,
                "state": state,
                "previous": previous,
                "since": health.since,
                "reconnects": health.reconnects,
                "reason": reason,
            }
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the source
                log.exception("source state listener failed")

    def count(self, source_id: str, reconnects: int = 0, read: int = 0, dropped: int = 0) -> None:
        """Add to a source's counters (the loop adds the frames its reader dropped)."""
        with self._lock:
            health = self._sources[source_id]
            health.reconnects += reconnects
            health.frames_read += read
            health.frames_dropped += dropped

    def skip(self, source_id: str, reason: str) -> None:
        """Count one input a source skipped (a payload that is not an image, too large)."""
        with self._lock:
            skipped = self._sources[source_id].skipped
            skipped[reason] = skipped.get(reason, 0) + 1

    def snapshot(self) -> dict[str, dict]:
        """Every source's health as plain dicts, keyed by source id."""
        with self._lock:
            return {sid: asdict(health) for sid, health in self._sources.items()}

    def state(self, source_id: str) -> str:
        with self._lock:
            return self._sources[source_id].state

    def all_down(self) -> bool:
        """True when there are sources and every one is down (readiness turns false)."""
        with self._lock:
            return bool(self._sources) and all(h.state == DOWN for h in self._sources.values())


def describe(snapshot: dict[str, dict], now: float | None = None) -> str:
    """One console line for every source: state, for how long, reconnects, frames, and
    inputs skipped per reason (MQTT snapshots that are not images)."""
    now = time.time() if now is None else now
    parts = []
    for sid, h in snapshot.items():
        parts.append(
            f"{sid} {h['state']} {max(0.0, now - h['since']):.0f} s, "
            f"{h['reconnects']} reconnects, {h['frames_read']} read, "
            f"{h['frames_dropped']} dropped"
            + "".join(f", {n} skipped ({reason})" for reason, n in sorted(h["skipped"].items()))
        )
    return "sources: " + "; ".join(parts)
