"""Reads a source on its own thread into a bounded queue."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import KitError, SourceError
from .base import Frame, FrameSource

_END = object()


class FrameReader:
    """Iterates frames decoded on a background thread.

    Live sources drop the oldest queued frame when the consumer is behind (counted in
    `dropped`); files block the reader instead, so no frame is lost. Iteration ends at
    end of stream; a reader failure or a stall longer than `timeout_s` raises SourceError.
    `prepare`, if given, runs on the reader thread for file frames (never for live frames,
    which may be dropped) and its result rides along as `Frame.prepared`.
    """

    def __init__(
        self,
        source: FrameSource,
        queue_size: int = 4,
        timeout_s: float = 10.0,
        prepare: Callable[[Any], Any] | None = None,
    ) -> None:
        self.source = source
        self.timeout_s = timeout_s
        self.prepare = None if source.live else prepare
        self.dropped = 0
        self.finished = False
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)

    def __enter__(self) -> FrameReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if getattr(self.source, "close_from_any_thread", False):
            self.source.close()  # wakes a read waiting for a reconnect
        while True:  # unblock a reader waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=2.0)
        self.source.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                if self.prepare is not None:
                    frame = dataclasses.replace(frame, prepared=self.prepare(frame.image))
                self._put(frame)
        except KitError as exc:
            self._put(exc)
            return
        except Exception as exc:  # a decoder bug must not hang the consumer
            self._put(SourceError(f"reading {self.source.source_id} failed: {exc}"))
            return
        self._put(_END)

    def _put(self, item: object) -> None:
        if self.source.live and item is not _END and isinstance(item, Frame):
            while True:
                try:
                    self._queue.put_nowait(item)
                    return
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def poll(self, timeout_s: float = 0.0) -> Frame | None:
        """The next frame if one is ready within `timeout_s`, else None.

        At end of stream it returns None and sets `finished`; a reader failure raises.
        """
        if self.finished:
            return None
        try:
            item = self._queue.get(timeout=timeout_s) if timeout_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None
        if item is _END:
            self.finished = True
            return None
        if isinstance(item, Exception):
            self.finished = True
            raise item
        return item

    def __iter__(self) -> Iterator[Frame]:
        while True:
            try:
                item = self._queue.get(timeout=self.timeout_s)
            except queue.Empty:
                raise SourceError(
                    f"no frame from {self.source.source_id} for "
                    f"{self.timeout_s:g} s: the source stalled"
                ) from None
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
