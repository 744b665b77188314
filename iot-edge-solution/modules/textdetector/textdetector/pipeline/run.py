"""Run the module from its settings: open detector, sources and sinks, then the loop."""
from __future__ import annotations

import logging
import threading

from ..config import Settings
from ..control.live import LiveSettings
from ..detector import TextDetector
from ..sinks import build_sinks
from ..sources import open_sources
from .loop import RunSummary, process

log = logging.getLogger(__name__)


def run(settings: Settings, stop: threading.Event | None = None) -> RunSummary:
    """Open the detector, the source(s) and the sinks the settings name; run to the end."""
    with TextDetector.open(settings.engine, settings.detector) as detector:
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
                          src.queue_size, src.source_timeout, src.max_frames, stop, live)
    if len(summary.per_source) > 1:
        log.info("frames per source: %s; batch sizes: %s", summary.per_source,
                 summary.batch_sizes)
    return summary
