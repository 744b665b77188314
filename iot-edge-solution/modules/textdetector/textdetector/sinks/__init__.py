"""Sinks: small context managers that each consume every FrameResult."""
from __future__ import annotations

import sys

from ..config import Settings
from ..control.live import LiveSettings
from .base import Sink
from .console import ConsoleSink
from .jsonl import JsonLinesSink


def build_sinks(settings: Settings, live: LiveSettings | None = None) -> list[Sink]:
    """The sinks the settings ask for, console first; IoT Hub when a hub is configured."""
    output = settings.output
    # JSON on stdout keeps stdout pure JSON: the console lines go to stderr then.
    console = sys.stderr if output.json_output == "-" else sys.stdout
    sinks: list[Sink] = [ConsoleSink(console, output.quiet, output.summary_interval)]
    if output.json_output:
        sinks.append(JsonLinesSink(output.json_output))
    from .iothub import IoTHubSink, create_client

    client = create_client(settings.iothub)
    if client is not None:
        sinks.append(IoTHubSink(settings.iothub, live or LiveSettings(settings), client))
    if settings.archive.enabled:
        from .archive import ArchiveSink  # imports the Blob Storage SDK only when used
        sinks.append(ArchiveSink(settings.archive, settings.engine.model_path.name))
    return sinks


__all__ = ["Sink", "ConsoleSink", "JsonLinesSink", "build_sinks"]
