"""The video pipeline: source thread -> detector -> every sink."""
from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Sequence

from .config import Settings
from .detector import TextDetector
from .errors import KitError
from .live import LiveSettings
from .results import FrameResult
from .sinks import Sink, build_sinks
from .sources import FrameReader, FrameSource, open_source, open_sources, source_paths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """What a run did: frames processed, frames a live source dropped, why it ended."""

    frames: int
    dropped: int
    stopped: bool


def process(detector: TextDetector, source: FrameSource, sinks: Sequence[Sink],
            queue_size: int = 4, timeout_s: float = 10.0, max_frames: int = 0,
            stop: threading.Event | None = None,
            live: LiveSettings | None = None) -> RunSummary:
    """Detect text in every frame of an open source and hand each result to the sinks.

    With `live`, changed detection parameters apply from the next frame and a changed
    source replaces the current one (a source that fails to open is rejected and the
    current one kept).
    """
    stop = stop or threading.Event()
    frames = dropped = 0
    with ExitStack() as stack:
        for sink in sinks:
            stack.enter_context(sink)
        while source is not None:
            with FrameReader(source, queue_size, timeout_s, detector.prepare) as reader:
                next_source = None
                for frame in reader:
                    detections, timings = detector.detect(frame.image, frame.prepared)
                    result = FrameResult(frame.index, frame.timestamp, source.source_id,
                                         detections, timings, frame.image)
                    for sink in sinks:
                        sink.write(result)
                    frames += 1
                    if stop.is_set() or (max_frames and frames >= max_frames):
                        break
                    if live is not None:
                        next_source = _apply_live(detector, live)
                        if next_source is not None:
                            break
                dropped += reader.dropped
            source = next_source
    if dropped:
        log.warning("the source delivered faster than detection: %d frames dropped", dropped)
    return RunSummary(frames, dropped, stop.is_set())


def _apply_live(detector: TextDetector, live: LiveSettings) -> FrameSource | None:
    """Apply live detector changes; open and return a new source if one was asked for."""
    update = live.poll()
    if update.detector is not None:
        detector.reconfigure(update.detector)
        log.info("detection settings changed: %s", update.detector)
    if update.source is None:
        return None
    try:
        source = open_source(update.source)
    except KitError as exc:
        live.reject("cameraPath", str(exc))
        log.error("keeping the current source: %s", exc)
        return None
    log.info("source changed to %s", source.source_id)
    return source


def run(settings: Settings, stop: threading.Event | None = None) -> RunSummary:
    """Open the detector, the source(s) and the sinks the settings name; run to the end.

    Several sources (CAMERA_PATH `a|b|...`) run in one process: see multistream.py.
    """
    with TextDetector.open(settings.engine, settings.detector) as detector:
        log.info("engine %s, model %s", detector.engine.name, settings.engine.model_path.name)
        if len(source_paths(settings.source.camera_path)) > 1:
            return _run_many(settings, detector, stop)
        source = open_source(settings.source)
        log.info("source %s (%s)", source.source_id, source.spec.kind)
        src = settings.source
        live = LiveSettings(settings, backend=detector.engine.name)
        return process(detector, source, build_sinks(settings, live), src.queue_size,
                       src.source_timeout, src.max_frames, stop, live)


def _run_many(settings: Settings, detector: TextDetector,
              stop: threading.Event | None) -> RunSummary:
    from .multistream import process_many

    src = settings.source
    sources = open_sources(src)
    max_batch = src.max_batch
    if detector.engine.name == "tensorrt":
        max_batch = min(max_batch, settings.engine.trt_max_batch)
    log.info("%d sources, batches of up to %d: %s", len(sources), max_batch,
             ", ".join(s.source_id for s in sources))
    live = LiveSettings(settings, backend=detector.engine.name)
    many = process_many(detector, sources, build_sinks(settings, live), max_batch,
                        src.queue_size, src.source_timeout, src.max_frames, stop, live)
    log.info("frames per source: %s; batch sizes: %s", many.per_source, many.batch_sizes)
    return RunSummary(many.frames, many.dropped, many.stopped)
