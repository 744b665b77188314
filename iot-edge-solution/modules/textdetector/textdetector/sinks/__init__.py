"""Sinks: small context managers that each consume every FrameResult."""

from __future__ import annotations

import sys

from ..config import Settings
from ..control.live import LiveSettings
from ..sources.health import HealthRegistry
from .base import Sink
from .console import ConsoleSink
from .jsonl import JsonLinesSink
from .shutdown import ShutdownBudget


def build_sinks(
    settings: Settings,
    live: LiveSettings | None = None,
    health: HealthRegistry | None = None,
    budget: ShutdownBudget | None = None,
) -> list[Sink]:
    """The sinks the settings ask for, console first; IoT Hub when a hub is configured,
    MQTT when MQTT_URL is set.

    `health` adds source health to the console summary, the twin and telemetry; `budget`
    is the shutdown grace period the IoT outbox and archive flushes share."""
    output = settings.output
    # JSON on stdout keeps stdout pure JSON: the console lines go to stderr then.
    console = sys.stderr if output.json_output == "-" else sys.stdout
    sinks: list[Sink] = [ConsoleSink(console, output.quiet, output.summary_interval, health)]
    if output.json_output:
        sinks.append(JsonLinesSink(output.json_output))
    from .iothub import IoTHubSink, create_client

    client = create_client(settings.iothub)
    if client is not None:
        sinks.append(
            IoTHubSink(
                settings.iothub,
                live or LiveSettings(settings),
                client,
                health=health,
                budget=budget,
            )
        )
    if settings.mqtt.mqtt_url:
        from .mqtt import MqttSink  # imports paho-mqtt and cloudevents only when used

        gap, min_frames = settings.iothub.text_event_gap, settings.iothub.text_event_min_frames
        sinks.append(MqttSink(settings.mqtt, gap, min_frames, health=health, budget=budget))
    if settings.archive.enabled:
        from .archive import ArchiveSink  # imports the Blob Storage SDK only when used

        sinks.append(ArchiveSink(settings.archive, settings.engine.model_label, budget=budget))
    return sinks


__all__ = ["Sink", "ConsoleSink", "JsonLinesSink", "build_sinks"]
