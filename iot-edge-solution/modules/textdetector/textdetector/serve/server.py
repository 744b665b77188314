"""Run the service: listen first, then load and warm the model, stop cleanly on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from ..config import (
    DetectorSettings,
    EngineSettings,
    RecognizerSettings,
    ServeSettings,
    TritonSettings,
)
from ..detector import TextDetector
from ..errors import ConfigError
from ..recognizer import TextRecognizer
from .app import create_app
from .connections import ServiceRunner
from .metrics import Metrics
from .pool import DetectorFactory, InferencePool, RecognizerFactory

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 10.0


def detector_factory(
    engine: EngineSettings, detector: DetectorSettings, triton: TritonSettings | None = None
) -> DetectorFactory:
    """Workers' detectors; images of any size arrive, so OpenVINO compiles dynamic shapes
    (and, with OV_PERFORMANCE_HINT=auto, for throughput: `EngineSettings.for_service`)."""
    return lambda: TextDetector.open(engine.for_service(), detector, triton, shapes="dynamic")


def recognizer_factory(
    engine: EngineSettings, recognizer: RecognizerSettings, triton: TritonSettings | None = None
) -> RecognizerFactory:
    """Opens the recogniser, or gives None when READ_TEXT is off."""
    if not recognizer.read_text:
        return lambda: None
    return lambda: TextRecognizer.open(recognizer, engine.for_service(), triton)


def build(
    settings: ServeSettings, factory: DetectorFactory, reader: RecognizerFactory | None = None
) -> tuple[web.Application, InferencePool]:
    metrics = Metrics()
    pool = InferencePool(
        factory,
        settings.workers,
        settings.queue_size,
        settings.warmup_runs,
        metrics,
        settings.retry_after,
        reader,
    )
    return create_app(settings, pool, metrics), pool


async def start(settings: ServeSettings, app: web.Application) -> tuple[web.AppRunner, int]:
    """Listen on host:port (port 0 = any free one); return the runner and the bound port."""
    runner = ServiceRunner(app, settings, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=256)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port} "
            f"(SERVE_HOST/SERVE_PORT): {exc.strerror or exc}"
        ) from None
    port = runner.addresses[0][1]
    log.info("listening on http://%s:%d", settings.host, port)
    if settings.api_key:
        log.info("API key required (SERVE_API_KEY) on every route but /v2/health/*")
    else:
        log.info("no SERVE_API_KEY: every route is open to whoever reaches this address")
    return runner, port


async def serve(
    settings: ServeSettings,
    factory: DetectorFactory,
    on_stop: Callable[[asyncio.Event], None] | None = None,
    reader: RecognizerFactory | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `on_stop` sets the event it is given); with
    `reader`, the text in every region is read too."""
    app, pool = build(settings, factory, reader)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    if on_stop is not None:
        on_stop(stop)
    runner, _ = await start(settings, app)
    try:
        await pool.start()
        log.info("ready: POST /score, /image; GET /v2/health/ready, /metrics")
        await stop.wait()
        log.info("stopping: finishing requests in flight")
    finally:
        await runner.cleanup()
        pool.close()
