"""One shutdown grace period (SHUTDOWN_GRACE) shared by every sink's final flush.

IoT Edge stops a module with SIGTERM and kills it a few seconds later, so the sinks do
not each get their own timeout: the budget starts when the run loop stops reading (or
when the first sink asks) and every flush gets only what is left of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ShutdownBudget:
    """A deadline started once; `remaining()` is what is left of it, never negative."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._deadline: float | None = None

    def start(self) -> None:
        """Start the clock (again calls change nothing)."""
        if self._deadline is None:
            self._deadline = self._clock() + self.seconds

    def remaining(self, cap: float | None = None) -> float:
        """Seconds left (starting the clock if needed), at most `cap`."""
        self.start()
        assert self._deadline is not None
        left = max(0.0, self._deadline - self._clock())
        return left if cap is None else min(left, cap)
