"""The sink interface."""

from __future__ import annotations

from typing import Protocol

from ..results import FrameResult


class Sink(Protocol):
    """Consumes results; opened and closed as a context manager around a run."""

    def __enter__(self) -> Sink: ...

    def __exit__(self, *exc: object) -> None: ...

    def write(self, result: FrameResult) -> None: ...
