"""Run the module from its settings: open detector, sources and sinks, then the loop."""
from __future__ import annotations

import contextlib
import logging
import threading

from ..config import Settings
from ..control.live import LiveSettings
from ..detector import TextDetector
from ..recognizer import TextRecognizer
from ..sinks import build_sinks
from ..sources import open_sources
from .loop import RunSummary, process

log = logging.getLogger(__name__)


def open_recognizer(settings: Settings) -> contextlib.AbstractContextManager:
    """The text recogniser when READ_TEXT is on, else a context holding None."""
    if not settings.recognizer.read_text:
        return contextlib.nullcontext(None)
    recognizer = TextRecognizer.open(settings.recognizer, settings.engine)
    log.info("reading text: %s%s, batches of %d, min score %.2f",
             settings.recognizer.rec_model_path.name,
             " + angle classifier" if settings.recognizer.use_angle_cls else "",
             settings.recognizer.rec_batch, settings.recognizer.rec_min_score)
    return recognizer


def run(settings: Settings, stop: threading.Event | None = None) -> RunSummary:
    """Open the detector, the recogniser, the source(s) and the sinks; run to the end."""
    with TextDetector.open(settings.engine, settings.detector) as detector, \
            open_recognizer(settings) as recognizer:
        log.info("engine %s, model %s", detector.engine.name, settings.engine.model_path.name)
        src = settings.source
        sources = open_sources(src)
        max_batch = src.max_batch
        if detector.engine.name == "tensorrt":
            max_batch = min(max_batch, settings.engine.trt_max_batch)
        log.info("%d source(s), batches of up to %d: %s", len(sources), max_batch,
                 ", ".join(f"{s.source_id} ({s.spec.kind})" for s in sources))
        live = LiveSettings(settings, backend=detector.engine.name)
        summary = process(detector, sources, build_sinks(settings, live), max_batch,
                          src.queue_size, src.source_timeout, src.max_frames, stop, live,
                          recognizer)
    if len(summary.per_source) > 1:
        log.info("frames per source: %s; batch sizes: %s", summary.per_source,
                 summary.batch_sizes)
    return summary
