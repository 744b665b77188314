"""IoT Hub messaging: message format, rate control, outbox, client, twin and sink."""

from ..delivery import Outbox, RateControl
from .client import HubClient, create_client
from .message import SCHEMA_PATH, OutgoingMessage, build_messages
from .sink import IoTHubSink

__all__ = [
    "HubClient",
    "create_client",
    "SCHEMA_PATH",
    "OutgoingMessage",
    "build_messages",
    "Outbox",
    "RateControl",
    "IoTHubSink",
]
