"""`serve`: the HTTP scoring service (a run mode of this module, same detector and image)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from ..config import (
    DetectorSettings,
    EngineSettings,
    OutputSettings,
    RecognizerSettings,
    ServeSettings,
    TritonSettings,
    add_arguments,
    load,
)

DESCRIPTION = """\
Serve text detection (and, with READ_TEXT, recognition) over HTTP: POST /score (LVA/AVA
HTTP extension), POST /image (Custom Vision), GET /v2/health/live, /v2/health/ready,
/v2/models/<name>, /metrics.
Listens on 127.0.0.1 by default; set SERVE_HOST=0.0.0.0 inside a container."""


def add_serve_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve detection over HTTP",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, ServeSettings, "HTTP service")
    add_arguments(parser, EngineSettings, "inference engine")
    add_arguments(parser, DetectorSettings, "detection")
    add_arguments(parser, RecognizerSettings, "text recognition")
    parser.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from ..serve.native_stderr import route_native_stderr
    from ..serve.server import detector_factory, recognizer_factory, serve

    settings = load(ServeSettings, args=args)
    engine = load(EngineSettings, args=args)
    detector = load(DetectorSettings, args=args)
    triton = load(TritonSettings)
    reader = recognizer_factory(engine, load(RecognizerSettings, args=args), triton)
    logging.getLogger().setLevel(load(OutputSettings).log_level.upper())
    route_native_stderr()  # libjpeg/libpng warnings into the log, not raw stderr
    asyncio.run(serve(settings, detector_factory(engine, detector, triton), reader=reader))
    return 0
