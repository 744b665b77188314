"""Run the module from its settings: check the sources, open detector, sources and sinks,
then the loop.

Live sources reconnect by themselves (`sources/reconnect.py`); their health is kept in
one `HealthRegistry` that the console summary, the IoT Hub sink (twin and `sourceState`
telemetry) and the optional health endpoint (HEALTH_PORT) read; the live preview on that
endpoint is a sink that keeps each source's newest result. A stop (signal) or the
end of the sources starts the SHUTDOWN_GRACE budget the sinks' final flushes share.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace

from ..config import RecognizerSettings, Settings, SourceSettings
from ..control.live import LiveSettings
from ..detector import TextDetector
from ..errors import ConfigError
from ..preview import Preview, PreviewAccess, PreviewHub
from ..recognizer import TextRecognizer
from ..sinks import build_sinks
from ..sinks.shutdown import ShutdownBudget
from ..sinks.video import VideoSink, check_writable, video_paths
from ..sources import FrameSource
from ..sources.capture import check_sources, classify, source_paths
from ..sources.health import HealthRegistry
from ..sources.reconnect import live_sources
from ..temporal import ReusePolicy
from ..temporal.metrics import ReuseBoard, ReuseCollector
from .health_http import HealthServer
from .loop import LoopOptions, RunSummary, process

log = logging.getLogger(__name__)


def open_recognizer(settings: Settings) -> contextlib.AbstractContextManager:
    """The text recogniser when READ_TEXT is on, else a context holding None."""
    if not settings.recognizer.read_text:
        return contextlib.nullcontext(None)
    recognizer = TextRecognizer.open(settings.recognizer, settings.engine, settings.triton)
    log.info(
        "reading text: %s on %s%s, batches of %d, min score %.2f",
        settings.recognizer.rec_model.name,
        recognizer.engine.name,
        " + angle classifier" if settings.recognizer.use_angle_cls else "",
        settings.recognizer.rec_batch,
        settings.recognizer.rec_min_score,
    )
    return recognizer


def log_state_change(event: dict) -> None:
    """A health listener: one log line per source state change."""
    reason = f" ({event['reason']})" if event.get("reason") else ""
    level = logging.INFO if event["state"] == "connected" else logging.WARNING
    log.log(
        level, "source %s: %s -> %s%s", event["source"], event["previous"], event["state"], reason
    )


def run(settings: Settings, stop: threading.Event | None = None) -> RunSummary:
    """Open the detector, the recogniser, the source(s) and the sinks; run to the end.

    A CAMERA_PATH that cannot work (a missing file, say) fails before the models load."""
    check_sources(settings.source.camera_path)
    if settings.output.save_video:  # an unwritable file fails before the models load
        count = len(source_paths(settings.source.camera_path))
        check_writable(video_paths(settings.output.save_video, count))
    health = HealthRegistry()
    health.add_listener(log_state_change)
    out = settings.output
    with ExitStack() as stack:
        board = ReuseBoard()  # per-source reuse figures for /metrics
        preview = open_preview(settings)
        if out.health_port:
            stack.enter_context(
                HealthServer(
                    health, out.health_host, out.health_port, [ReuseCollector(board)], preview
                )
            )
        paths = settings.source.camera_path
        engine = settings.engine.for_run(frames_queue(paths), any_live(paths))
        detector = stack.enter_context(
            TextDetector.open(engine, settings.detector, settings.triton, frames=True)
        )
        recognizer = stack.enter_context(open_recognizer(replace(settings, engine=engine)))
        log.info(
            "engine %s%s, model %s",
            detector.engine.name,
            f" ({engine.ov_performance_hint})" if detector.engine.name == "openvino" else "",
            settings.engine.model_label,
        )
        src = settings.source

        def opener(source: SourceSettings) -> list[FrameSource]:
            return live_sources(source, health, settings.mqtt)

        sources = opener(src)
        options = loop_options(settings, detector.engine.name)
        log.info(
            "%d source(s), batches of up to %d: %s",
            len(sources),
            options.max_batch,
            ", ".join(f"{s.source_id} ({kind(s)})" for s in sources),
        )
        live = LiveSettings(settings, backend=detector.engine.name)
        budget = ShutdownBudget(out.shutdown_grace)
        sinks = build_sinks(settings, live, health, budget)
        if out.health_port and preview.access.enabled:
            sinks.append(preview.hub)  # keeps a reference to each source's newest result
        if out.save_video:
            sinks.append(VideoSink(out.save_video, [s.source_id for s in sources]))

        def open_with(rec: RecognizerSettings) -> TextRecognizer:
            opened = open_recognizer(replace(settings, engine=engine, recognizer=rec))
            if not isinstance(opened, TextRecognizer):  # the loop refuses this earlier
                raise ConfigError("READ_TEXT is off: there is no recogniser to switch")
            return opened

        switched = stack.enter_context(contextlib.closing(SwitchedRecognizers(open_with)))

        summary = process(
            detector,
            sources,
            sinks,
            options=options,
            stop=stop,
            live=live,
            opener=opener,
            health=health,
            shutdown=budget,
            recognizer=recognizer,
            reuse_board=board,
            recognizer_opener=switched.open,
        )
    if len(summary.per_source) > 1:
        log.info("frames per source: %s; batch sizes: %s", summary.per_source, summary.batch_sizes)
    for source_id, figures in summary.reuse.items():
        log.info("%s: %s", source_id, ", ".join(f"{k} {v}" for k, v in figures.items()))
    return summary


class SwitchedRecognizers:
    """Opens the recognisers a live recModelDir names and closes, when the run ends,
    those still open. The loop closes the one a switch replaces (or the new one it
    refused); closed ones are let go at the next switch, so however often the model is
    switched, at most the current one and the one being tried are held."""

    def __init__(self, open_with: Callable[[RecognizerSettings], TextRecognizer]) -> None:
        self.open_with = open_with
        self.held: list[TextRecognizer] = []

    def open(self, settings: RecognizerSettings) -> TextRecognizer:
        self.held = [r for r in self.held if not r.closed]
        recognizer = self.open_with(settings)
        self.held.append(recognizer)
        return recognizer

    def close(self) -> None:
        for recognizer in self.held:
            recognizer.close()
        self.held = []


def open_preview(settings: Settings) -> Preview:
    """The live preview of the health port: its hub and who may watch it."""
    p = settings.preview
    access = PreviewAccess.from_settings(p, settings.output.health_host)
    return Preview(PreviewHub(p.preview_fps, p.preview_max_clients), access)


def loop_options(settings: Settings, engine_name: str) -> LoopOptions:
    """The loop's tuning from the settings (TensorRT caps batches at TRT_MAX_BATCH)."""
    src = settings.source
    max_batch = src.max_batch
    if engine_name == "tensorrt":
        max_batch = min(max_batch, settings.engine.trt_max_batch)
    return LoopOptions(
        max_batch=max_batch,
        queue_size=src.queue_size,
        timeout_s=src.source_timeout,
        max_frames=src.max_frames,
        read_ahead=settings.recognizer.rec_frames,
        reuse=ReusePolicy(settings.temporal.temporal_reuse, settings.temporal.reuse_max_age),
    )


def frames_queue(camera_path: str) -> bool:
    """Whether frames wait for detection: a file, or several sources (not one live one)."""
    paths = source_paths(camera_path)
    return len(paths) > 1 or not classify(paths[0]).live if paths else False


def any_live(camera_path: str) -> bool:
    """Whether any source is live (a camera or stream: frames arrive in real time)."""
    return any(classify(path).live for path in source_paths(camera_path))


def kind(source: FrameSource) -> str:
    """A source's kind for the log: file, camera, stream, gstreamer."""
    spec = getattr(source, "spec", None)
    return spec.kind if spec is not None else "live"
