"""The frame-source interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One decoded BGR frame; `timestamp` in seconds (file position or wall clock).

    `prepared` holds work done ahead on the reader thread (the detector's input blob).
    `input_size`, when set, is the model input (height, width) to detect it at instead of
    the one the detection policy gives its size (a part cut from a larger frame is
    detected at that frame's scale).
    """

    index: int
    timestamp: float
    image: np.ndarray
    prepared: Any = None
    input_size: tuple[int, int] | None = None


class FrameSource(Protocol):
    """Opens once, then yields frames until `read` returns None (end of stream).

    `live` sources (cameras, streams) may drop frames when the consumer is behind;
    files never drop. Failures raise `SourceError` with a readable message.
    """

    source_id: str
    live: bool

    def open(self) -> None: ...

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


@runtime_checkable
class SelfHealingSource(Protocol):
    """A live source that reconnects by itself (`self_healing` True): no loop stall check."""

    self_healing: bool
