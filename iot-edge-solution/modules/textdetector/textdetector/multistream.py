"""One process serving several sources: round-robin frames, batched inference.

Each source is read (files also pre-processed) on its own FrameReader thread. Every
round takes at most one ready frame from each stream (the first stream asked rotates,
so none starves), groups the round's frames by model input size and detects each group
in `detect_batch` calls of at most `max_batch` frames. Results reach the sinks in order
per source, each carrying its own source_id. A stream that ends or fails leaves the others running.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Sequence

from .detector import TextDetector
from .errors import KitError, SourceError
from .live import LiveSettings
from .results import FrameResult
from .sinks import Sink
from .sources import Frame, FrameReader, FrameSource

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.005  # wait for a frame when no stream had one ready


@dataclass(frozen=True)
class ManySummary:
    """What a multi-stream run did; `batch_sizes` maps batch size -> engine calls."""

    frames: int
    dropped: int
    stopped: bool
    per_source: dict[str, int] = field(default_factory=dict)
    batch_sizes: dict[int, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class _Stream:
    source_id: str
    reader: FrameReader
    last_frame: float
    frames: int = 0


def _round(streams: list[_Stream], start: int, timeout_s: float,
           failed: dict[str, str]) -> list[tuple[_Stream, Frame]]:
    """One ready frame per stream at most, asking from `start` on; drops ended streams."""
    taken = []
    now = time.monotonic()
    count = len(streams)
    for stream in [streams[(start + i) % count] for i in range(count)]:
        try:
            frame = stream.reader.poll()
            if frame is None and not stream.reader.finished \
                    and now - stream.last_frame > timeout_s:
                raise SourceError(f"no frame from {stream.source_id} for {timeout_s:g} s: "
                                  "the source stalled")
        except KitError as exc:
            log.error("stream %s stopped: %s", stream.source_id, exc)
            failed[stream.source_id] = str(exc)
            stream.reader.finished = True
            frame = None
        if frame is not None:
            stream.last_frame = now
            taken.append((stream, frame))
    streams[:] = [s for s in streams if not s.reader.finished]
    return taken


def _batches(detector: TextDetector, taken: list[tuple[_Stream, Frame]],
             max_batch: int) -> list[list[tuple[_Stream, Frame]]]:
    """Group a round's frames by model input size, in chunks of at most max_batch."""
    groups: dict[tuple[int, int], list[tuple[_Stream, Frame]]] = {}
    for item in taken:
        size = detector.input_size(item[1].image.shape[:2])
        groups.setdefault(size, []).append(item)
    return [group[i:i + max_batch] for group in groups.values()
            for i in range(0, len(group), max_batch)]


def process_many(detector: TextDetector, sources: Sequence[FrameSource], sinks: Sequence[Sink],
                 max_batch: int = 4, queue_size: int = 4, timeout_s: float = 10.0,
                 max_frames: int = 0, stop: threading.Event | None = None,
                 live: LiveSettings | None = None) -> ManySummary:
    """Detect text in every frame of several open sources, batching where shapes match.

    `max_frames` caps the total over all streams. With `live`, changed detection
    parameters apply from the next round; a changed source list is rejected (restart).
    Raises the last SourceError if every stream failed before delivering a frame.
    """
    stop = stop or threading.Event()
    batch_sizes: Counter = Counter()
    failed: dict[str, str] = {}
    frames = rounds = 0
    with ExitStack() as stack:
        for sink in sinks:
            stack.enter_context(sink)
        streams = []
        for source in sources:
            reader = stack.enter_context(
                FrameReader(source, queue_size, timeout_s, detector.prepare))
            streams.append(_Stream(source.source_id, reader, time.monotonic()))
        every = list(streams)
        while streams and not stop.is_set():
            taken = _round(streams, rounds % max(len(streams), 1), timeout_s, failed)
            rounds += 1
            if not taken:
                time.sleep(IDLE_WAIT_S)
                continue
            if max_frames:
                taken = taken[:max_frames - frames]
            for batch in _batches(detector, taken, max_batch):
                outputs = detector.detect_batch([frame.image for _, frame in batch],
                                                [frame.prepared for _, frame in batch])
                batch_sizes[len(batch)] += 1
                for (stream, frame), (detections, timings) in zip(batch, outputs):
                    result = FrameResult(frame.index, frame.timestamp, stream.source_id,
                                         detections, timings, frame.image)
                    for sink in sinks:
                        sink.write(result)
                    stream.frames += 1
            frames += len(taken)
            if max_frames and frames >= max_frames:
                break
            if live is not None:
                _apply_live(detector, live)
        dropped = sum(s.reader.dropped for s in every)
    if frames == 0 and every and all(s.source_id in failed for s in every):
        raise SourceError(next(reversed(failed.values())))
    if dropped:
        log.warning("the sources delivered faster than detection: %d frames dropped", dropped)
    return ManySummary(frames, dropped, stop.is_set(), {s.source_id: s.frames for s in every},
                       dict(sorted(batch_sizes.items())), failed)


def _apply_live(detector: TextDetector, live: LiveSettings) -> None:
    update = live.poll()
    if update.detector is not None:
        detector.reconfigure(update.detector)
        log.info("detection settings changed: %s", update.detector)
    if update.source is not None:
        reason = "changing the sources of a multi-source run needs a restart"
        live.reject("cameraPath", reason)
        log.error(reason)
