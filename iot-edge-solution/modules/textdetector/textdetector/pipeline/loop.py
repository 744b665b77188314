"""The one run loop: one or many sources -> batched detection -> every sink.

Each source is read (files also pre-processed) on its own FrameReader thread. Every
round takes at most one ready frame from each stream (the first stream asked rotates,
so none starves), groups the round's frames by model input size and detects each group
in engine calls of at most `max_batch` frames. Results reach the sinks in order per
source, each carrying its own source_id. One source is simply the case N = 1. While
frames are queued, a batch infers (on engines with async requests: OpenVINO) while the
batch before it is post-processed, read and written; when no frame is waiting, the
batch in flight is finished at once, so a result is never held back for input. With a
recogniser, the text of every frame detected so far is read together (crops batched
across frames and streams); files gather `read_ahead` frames (REC_FRAMES) first.

A stream that ends leaves the others running; one that fails or stalls is logged and
dropped (its health turns `down`). If every stream failed (none ended normally) the last
error is raised. A live source that reconnects by itself (a `SelfHealingSource`) is exempt from
the loop's stall check: its read watchdog covers that, and a source that is down for a
while never holds up the others. With a `HealthRegistry`, the loop counts the frames
read from files and the frames each reader dropped; with a `ShutdownBudget`, the budget
starts as soon as reading stops, so every sink's final flush shares it.
With `LoopOptions.reuse` on (TEMPORAL_REUSE), a frame that did not change against its
stream's last inferred frame skips the model and carries that frame's result, marked
`reused` (`temporal/`); only the frames (and, in region mode, the lines) that need the
model are batched. Reused frames keep their place in each stream's order.
Between rounds, live settings apply: detection parameters at once, a new CAMERA_PATH by
opening the new sources first (a source that cannot open is rejected, the current kept),
new ZONES once bound to the model and checked against the frame sizes seen (else the
old zones stay). With ZONES, a stream whose first frame is smaller than one of its
zones is stopped with one error line; its frames are read zone by zone (`zones/read.py`),
not voted across refreshes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from ..config import EngineSettings, RecognizerSettings
from ..control.live import LiveSettings
from ..detector import TextDetector
from ..detector.detector import DetectJob
from ..errors import KitError, SourceError
from ..recognizer import TextRecognizer
from ..recognizer.zones import ZoneSet
from ..results import Detections, FrameResult, Timings
from ..sinks import Sink
from ..sinks.shutdown import ShutdownBudget
from ..sources import Frame, FrameReader, FrameSource, SelfHealingSource, open_sources
from ..sources.health import DOWN, HealthRegistry
from ..temporal import ReusePolicy, StreamReuse, read_frames, staggered
from ..temporal.metrics import ReuseBoard

log = logging.getLogger(__name__)

IDLE_WAIT_S = 0.005  # wait for a frame when no stream had one ready


@dataclass(frozen=True)
class RunSummary:
    """What a run did; `batch_sizes` maps batch size -> engine calls."""

    frames: int
    dropped: int
    stopped: bool
    per_source: dict[str, int] = field(default_factory=dict)
    batch_sizes: dict[int, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    reuse: dict[str, dict] = field(default_factory=dict)  # per source: ReuseStats.to_dict


@dataclass(frozen=True)
class LoopOptions:
    """The loop's tuning: batch cap, reader queue, stall timeout, frame cap, read-ahead."""

    max_batch: int = 4
    queue_size: int = 4
    timeout_s: float = 10.0
    max_frames: int = 0  # 0: no cap (over all streams)
    read_ahead: int = 1  # frames of files whose text is read together (REC_FRAMES)
    reuse: ReusePolicy = ReusePolicy()  # TEMPORAL_REUSE, REUSE_MAX_AGE


@dataclass
class _Stream:
    source_id: str
    reader: FrameReader
    last_frame: float
    self_healing: bool = False
    frames: int = 0
    dropped_seen: int = 0
    reuse: StreamReuse = field(default_factory=lambda: StreamReuse(ReusePolicy()))
    size: tuple[int, int] | None = None  # (height, width) of its first frame


Taken = list[tuple[_Stream, Frame]]
Pending = list[tuple[_Stream, Frame, Detections | None, Timings]]  # None: a reused frame
Inferred = list[tuple[int, _Stream, Frame, Detections, Timings]]  # its index in Pending


class RunLoop:
    """Reads every stream, detects in batches, writes each result to every sink."""

    def __init__(
        self,
        detector: TextDetector,
        sinks: Sequence[Sink],
        *,
        options: LoopOptions = LoopOptions(),
        stop: threading.Event | None = None,
        live: LiveSettings | None = None,
        opener: Callable[..., list[FrameSource]] = open_sources,
        health: HealthRegistry | None = None,
        shutdown: ShutdownBudget | None = None,
        recognizer: TextRecognizer | None = None,
        reuse_board: ReuseBoard | None = None,
        recognizer_opener: Callable[[RecognizerSettings], TextRecognizer] | None = None,
    ) -> None:
        self.detector, self.sinks = detector, list(sinks)
        self.recognizer_opener = recognizer_opener
        self.reuse_board = reuse_board
        self.read_ahead = options.read_ahead
        self.max_batch, self.queue_size = options.max_batch, options.queue_size
        self.timeout_s, self.max_frames = options.timeout_s, options.max_frames
        self.stop = stop or threading.Event()
        self.live, self.opener = live, opener
        self.recognizer = recognizer
        self.reuse = options.reuse
        self._started = time.monotonic()
        self._pending: Pending = []
        self._inflight: tuple[Taken, DetectJob] | None = None
        self.submitted = 0
        self.health, self.shutdown = health, shutdown
        self.streams: list[_Stream] = []
        self.every: list[_Stream] = []
        self.failed: dict[str, str] = {}
        self.batch_sizes: Counter = Counter()
        self.frames = 0

    def run(self, sources: Sequence[FrameSource]) -> RunSummary:
        """Process `sources` to their end, a stop request or `max_frames`."""
        with ExitStack() as stack:
            for sink in self.sinks:
                stack.enter_context(sink)
            stack.callback(self._close_streams)
            self._start(sources)
            self._loop()
            if self.shutdown is not None:
                self.shutdown.start()
        dropped = sum(s.reader.dropped for s in self.every)
        if (
            self.every
            and not self.stop.is_set()
            and all(s.source_id in self.failed for s in self.every)
        ):
            raise SourceError(next(reversed(self.failed.values())))
        if dropped:
            log.warning("the sources delivered faster than detection: %d frames dropped", dropped)
        return RunSummary(
            self.frames,
            dropped,
            self.stop.is_set(),
            {s.source_id: s.frames for s in self.every},
            dict(sorted(self.batch_sizes.items())),
            dict(self.failed),
            self._reuse_stats(),
        )

    def _loop(self) -> None:
        """Rounds of frames; a batch infers while the previous one is read and written."""
        rounds = 0
        try:
            while self.streams and not self.stop.is_set():
                taken = self._round(rounds % len(self.streams))
                rounds += 1
                if self.max_frames:
                    taken = taken[: self.max_frames - self.submitted]
                taken, reused = self._split(taken)
                for batch in self._batches(taken):
                    self._submit(batch)
                if not taken:  # nothing queued behind it: never hold a result back
                    self._collect()
                self._pending += [(s, f, None, Timings()) for s, f in reused]
                self.submitted += len(reused)
                if self._due(taken):
                    self._flush()
                if self.max_frames and self.submitted >= self.max_frames:
                    break
                if self.live is not None:
                    self._apply_live()
            self._collect()
            self._flush()
        finally:
            if self._inflight is not None:  # an error stopped the loop: let the engine finish
                with contextlib.suppress(Exception):
                    self._inflight[1].result()

    def _start(self, sources: Sequence[FrameSource]) -> None:
        now = time.monotonic()
        states = staggered(self.reuse, len(sources))  # refreshes spread over the max age
        for source, state in zip(sources, states):
            prepare = None if self.reuse.on else self.detector.prepare  # reused: never prepared
            reader = FrameReader(source, self.queue_size, self.timeout_s, prepare)
            reader.__enter__()
            healing = isinstance(source, SelfHealingSource) and source.self_healing
            stream = _Stream(source.source_id, reader, now, healing, reuse=state)
            if self.reuse_board is not None:
                self.reuse_board.add(source.source_id, stream.reuse.stats)
            self.streams.append(stream)
            self.every.append(stream)

    def _close_streams(self) -> None:
        for stream in self.every:
            stream.reader.stop()
            self._count(stream, read=0)

    def _round(self, start: int) -> Taken:
        """One ready frame per stream at most, asking from `start` on; drops ended streams."""
        count = len(self.streams)
        order = [self.streams[(start + i) % count] for i in range(count)]
        taken = [(s, f) for s, f in ((s, self._poll(s, 0.0)) for s in order) if f is not None]
        if not taken:  # block briefly on one stream instead of spinning
            frame = self._poll(order[0], IDLE_WAIT_S)
            taken = [(order[0], frame)] if frame is not None else []
        self.streams[:] = [s for s in self.streams if not s.reader.finished]
        return [(s, f) for s, f in taken if self._fits_zones(s, f)]

    def _fits_zones(self, stream: _Stream, frame: Frame) -> bool:
        """Whether the stream's zones lie inside its frames (checked on its first frame;
        a stream they do not fit is stopped)."""
        if stream.size is not None:
            return not stream.reader.finished
        height, width = frame.image.shape[:2]
        stream.size = (height, width)
        zones = self.recognizer.zones if self.recognizer is not None else None
        reason = zones.spec.outside_frame(stream.source_id, width, height) if zones else ""
        if not reason:
            return True
        log.error("stream %s stopped: %s", stream.source_id, reason)
        self.failed[stream.source_id] = reason
        stream.reader.stop()
        stream.reader.finished = True
        self._set_down(stream.source_id, reason)
        return False

    def _poll(self, stream: _Stream, wait_s: float) -> Frame | None:
        if stream.reader.finished:
            return None
        now = time.monotonic()
        try:
            frame = stream.reader.poll(wait_s)
            if (
                frame is None
                and not stream.reader.finished
                and not stream.self_healing
                and now - stream.last_frame > self.timeout_s
            ):
                raise SourceError(
                    f"no frame from {stream.source_id} for {self.timeout_s:g} s: the source stalled"
                )
        except KitError as exc:
            log.error("stream %s stopped: %s", stream.source_id, exc)
            self.failed[stream.source_id] = str(exc)
            stream.reader.finished = True
            self._set_down(stream.source_id, str(exc))
            return None
        if frame is not None:
            stream.last_frame = time.monotonic()
            self._count(stream, read=0 if stream.self_healing else 1)
        return frame

    def _count(self, stream: _Stream, read: int) -> None:
        """Tell the health registry about a frame read and any new reader drops."""
        if self.health is None or stream.source_id not in self._health_ids():
            return
        dropped = stream.reader.dropped - stream.dropped_seen
        stream.dropped_seen = stream.reader.dropped
        if read or dropped:
            self.health.count(stream.source_id, read=read, dropped=dropped)

    def _set_down(self, source_id: str, reason: str) -> None:
        if self.health is not None and source_id in self._health_ids():
            self.health.set_state(source_id, DOWN, reason)

    def _health_ids(self) -> set[str]:
        assert self.health is not None
        return self.health.ids()

    def _split(self, taken: Taken) -> tuple[Taken, Taken]:
        """The round's frames that need the model, and those that reuse their stream's
        last inferred result (queued behind the batches already in flight)."""
        infer: Taken = []
        reused: Taken = []
        for stream, frame in taken:
            if stream.reuse.needs_model(frame.image, frame.timestamp, frame.index):
                part = stream.reuse.model_frame(frame)
                if part.image.shape != frame.image.shape:  # region mode: the changed part
                    size = self.detector.part_input_size(
                        part.image.shape[:2], frame.image.shape[:2]
                    )
                    part = dataclasses.replace(part, input_size=size)
                infer.append((stream, part))
            else:
                reused.append((stream, frame))
        return infer, reused

    def _reuse_stats(self) -> dict[str, dict]:
        if not self.reuse.on and self.recognizer is None:
            return {}
        elapsed = time.monotonic() - self._started
        return {s.source_id: s.reuse.stats.to_dict(elapsed) for s in self.every}

    def _batches(self, taken: Taken) -> Iterator[Taken]:
        """The round's frames grouped by model input size, in chunks of at most max_batch."""
        groups: dict[tuple[int, int], Taken] = {}
        for item in taken:
            size = item[1].input_size or self.detector.input_size(item[1].image.shape[:2])
            groups.setdefault(size, []).append(item)
        for group in groups.values():
            for i in range(0, len(group), self.max_batch):
                yield group[i : i + self.max_batch]

    def _submit(self, batch: Taken) -> None:
        """Start `batch` inferring, then post-process the batch that was in flight, so
        its reading and sinks overlap this inference (engines with async requests)."""
        job = self.detector.submit(
            [frame.image for _, frame in batch],
            [frame.prepared for _, frame in batch],
            batch[0][1].input_size,
        )
        self.batch_sizes[len(batch)] += 1
        self.submitted += len(batch)
        self._collect()
        self._inflight = (batch, job)

    def _due(self, taken: Taken) -> bool:
        """Read and write now, or first gather `read_ahead` frames of files, so their
        crops are read together (live frames and idle moments never wait)."""
        return (
            self.recognizer is None
            or not taken
            or len(self._pending) >= self.read_ahead
            or any(stream.reader.source.live for stream, _ in taken)
        )

    def _collect(self) -> None:
        """Wait for the batch in flight (if any) and queue its results for `_flush`."""
        if self._inflight is None:
            return
        (batch, job), self._inflight = self._inflight, None
        for (stream, frame), (detections, timings) in zip(batch, job.result()):
            frame, detections = stream.reuse.detected(frame, detections)  # region mode: crops
            self._pending.append((stream, frame, detections, timings))

    def _flush(self) -> None:
        """Read the text of the round's frames together, then hand each result to the sinks."""
        pending, self._pending = self._pending, []
        # the frames detected this round (a reused frame has no detections to read)
        inferred: Inferred = [
            (i, s, f, d, t) for i, (s, f, d, t) in enumerate(pending) if d is not None
        ]
        if self.recognizer is not None and inferred:
            zones = self.recognizer.zones
            zoned = [e for e in inferred if zones and zones.for_source(e[1].source_id)]
            if zoned:
                zoned_at = {e[0] for e in zoned}
                inferred = [e for e in inferred if e[0] not in zoned_at]
                self._read_zoned(pending, zoned)
        if self.recognizer is not None and inferred:
            read, ms = read_frames(
                self.recognizer,
                [(s.reuse, f.image, d, f.timestamp, f.index) for _, s, f, d, _ in inferred],
            )
            for (i, s, f, _, t), d in zip(inferred, read):
                pending[i] = (s, f, d, dataclasses.replace(t, recognition_ms=ms))
        for stream, frame, detections, timings in pending:
            reused = detections is None
            if detections is None:
                detections = stream.reuse.reused(frame.image.shape[:2])
            else:
                stream.reuse.last = detections
            result = FrameResult(
                frame.index,
                frame.timestamp,
                stream.source_id,
                detections,
                timings,
                frame.image,
                reused=reused,
            )
            for sink in self.sinks:
                sink.write(result)
            stream.frames += 1
            self.frames += 1

    def _read_zoned(self, pending: Pending, frames: Inferred) -> None:
        """Read the detected `frames` zone by zone, their results put back into `pending`."""
        from ..recognizer.zones.read import read_zoned

        assert self.recognizer is not None and self.recognizer.zones is not None
        read, ms = read_zoned(
            self.recognizer,
            self.recognizer.zones,
            [(s.source_id, f.image, d) for _, s, f, d, _ in frames],
        )
        for (i, s, f, _, t), d in zip(frames, read):
            pending[i] = (s, f, d, dataclasses.replace(t, recognition_ms=ms))

    def _apply_zones(self, zones: ZoneSet) -> None:
        """Bind new zones to the model and check them against the frames seen so far;
        on any failure the old zones stay and the twin is told why."""
        assert self.live is not None
        if self.recognizer is None:
            self.live.restore_zones(None, "not used in this run (no text is read)")
            return
        old = self.recognizer.zones
        try:
            compiled = self.recognizer.compile_zones(zones)
        except KitError as exc:
            reason = str(exc)
        else:
            reason = next(
                (
                    r
                    for r in (
                        zones.outside_frame(s.source_id, s.size[1], s.size[0])
                        for s in self.streams
                        if s.size is not None
                    )
                    if r
                ),
                "",
            )
        if reason:
            self.live.restore_zones(old.spec if old is not None else None, reason)
            log.error("keeping the current zones: %s", reason)
            return
        self.recognizer.zones = compiled
        log.info("zones changed: %d zones, outside=%s", len(zones.zones()), zones.outside)

    def _switch_recognizer(self, settings: RecognizerSettings) -> None:
        """Read with another recogniser from the next frame on (recModelDir): the new
        one is opened, given the current zones and swapped in; every stream forgets the
        readings it holds for reuse. On any failure the current one stays, the twin
        hears why."""
        assert self.live is not None
        old = self.recognizer
        if self.recognizer_opener is None or old is None:
            self.live.reject("recModelDir", "not used in this run (no text is read)")
            return
        try:
            new = self.recognizer_opener(settings)
        except KitError as exc:
            self.live.restore("recModelDir", old.settings, str(exc))
            log.error("keeping the current recogniser: %s", exc)
            return
        if old.zones is not None:
            try:
                new.zones = new.compile_zones(old.zones.spec)
            except KitError as exc:
                new.close()
                self.live.reject("recModelDir", f"the current zones do not fit it: {exc}")
                log.error("keeping the current recogniser: the zones do not fit the new one")
                return
        self.recognizer = new
        old.close()
        for stream in self.every:
            stream.reuse.forget()
        log.info("recogniser changed to %s", settings.rec_model)

    def _switch_detector(self, settings: EngineSettings) -> None:
        """Detect with another model from the next frame on (detModelDir): the frames in
        flight finish on the current one, then `TextDetector.switch_model`; every stream
        forgets the regions it holds for reuse. On any failure the current model stays
        and the twin hears why."""
        assert self.live is not None
        self._collect()
        before = self.detector.engine_settings
        try:
            if before is not None:  # as the run opened it (threads, hints): only the folder
                settings = before.with_det_dir(settings.det_model_dir)
            self.detector.switch_model(settings)
        except KitError as exc:
            if before is not None:
                self.live.restore("detModelDir", before, str(exc))
            else:
                self.live.reject("detModelDir", str(exc))
            log.error("keeping the current detector: %s", exc)
            return
        self.live.model = settings.model_label
        for stream in self.every:
            stream.reuse.forget()
        log.info("detector changed to %s", settings.model_label)

    def _apply_live(self) -> None:
        """Apply live detector changes; switch to new sources if CAMERA_PATH changed."""
        assert self.live is not None
        update = self.live.poll()
        if update.detector is not None:
            self.detector.reconfigure(update.detector)
            log.info("detection settings changed: %s", update.detector)
        if update.zones is not None:
            self._apply_zones(update.zones)
        if update.recognizer is not None:
            self._switch_recognizer(update.recognizer)
        if update.engine is not None:
            self._switch_detector(update.engine)
        if update.source is None:
            return
        try:
            sources = self.opener(update.source)
        except KitError as exc:
            self.live.reject("cameraPath", str(exc))
            log.error("keeping the current sources: %s", exc)
            return
        log.info("sources changed to %s", ", ".join(s.source_id for s in sources))
        for stream in self.streams:
            stream.reader.stop()
            stream.reader.finished = True
        kept = {s.source_id for s in sources}
        for stream in self.streams:
            if self.health is not None and stream.source_id not in kept:
                self.health.forget(stream.source_id)
        self.streams = []
        self._start(sources)


def process(
    detector: TextDetector,
    sources: Sequence[FrameSource],
    sinks: Sequence[Sink],
    *,
    options: LoopOptions = LoopOptions(),
    stop: threading.Event | None = None,
    live: LiveSettings | None = None,
    opener: Callable[..., list[FrameSource]] = open_sources,
    health: HealthRegistry | None = None,
    shutdown: ShutdownBudget | None = None,
    recognizer: TextRecognizer | None = None,
    reuse_board: ReuseBoard | None = None,
    recognizer_opener: Callable[[RecognizerSettings], TextRecognizer] | None = None,
) -> RunSummary:
    """Detect (and with `recognizer`, read) text in every frame of open `sources`.

    Each result goes to every sink; `options` holds the tuning (see `LoopOptions`).
    `recognizer_opener` opens the recogniser a live `recModelDir` names (the caller owns
    and closes what it opens). Everything after `sinks` is keyword-only. See the module
    docstring for the rest.
    """
    loop = RunLoop(
        detector,
        sinks,
        options=options,
        stop=stop,
        live=live,
        opener=opener,
        health=health,
        shutdown=shutdown,
        recognizer=recognizer,
        reuse_board=reuse_board,
        recognizer_opener=recognizer_opener,
    )
    return loop.run(sources)
