"""Client factory: which IoT Hub identity the module uses, and a thin send wrapper.

Inside IoT Edge (the `IOTEDGE_*` variables, or the `EdgeHubConnectionString` debug
variable, are present) the module client comes from the edge environment; otherwise
a device or module connection string (IOTHUB_CONNECTION_STRING) is used; with neither,
messages go to the console only (no client).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import IoTHubSettings
from ...errors import ConfigError
from .message import CONTENT_ENCODING, CONTENT_TYPE, OutgoingMessage

log = logging.getLogger(__name__)

EDGE_VARIABLES = ("IOTEDGE_WORKLOADURI", "IOTEDGE_MODULEID", "IOTEDGE_DEVICEID")
# Seconds between the SDK's own reconnect attempts (its default is 10).
RECONNECT_INTERVAL_S = 3


@dataclass
class HubClient:
    """An SDK client plus how to send: to a module output, or as device telemetry."""

    sdk: Any
    mode: str  # "edge", "module" or "device"
    output_name: str

    def send(self, message: OutgoingMessage) -> None:
        """Send one message; raises while the hub is unreachable."""
        from azure.iot.device import Message

        msg = Message(message.body, content_encoding=CONTENT_ENCODING, content_type=CONTENT_TYPE)
        msg.custom_properties.update(message.properties)
        if self.mode == "device":
            self.sdk.send_message(msg)
        else:
            self.sdk.send_message_to_output(msg, self.output_name)


def in_edge(environ: Mapping[str, str]) -> bool:
    return all(environ.get(name) for name in EDGE_VARIABLES) or bool(
        environ.get("EdgeHubConnectionString")
    )


def create_client(
    settings: IoTHubSettings, environ: Mapping[str, str] | None = None
) -> HubClient | None:
    """The client for this environment, or None for console-only; logs which is active."""
    environ = os.environ if environ is None else environ
    if not log.isEnabledFor(logging.DEBUG):
        # The SDK logs every publish, and each failed reconnect with a traceback, at INFO.
        logging.getLogger("azure.iot.device").setLevel(logging.WARNING)
    options: dict[str, Any] = {"connection_retry_interval": RECONNECT_INTERVAL_S}
    if in_edge(environ):
        from azure.iot.device import IoTHubModuleClient

        sdk: Any = IoTHubModuleClient.create_from_edge_environment(**options)
        log.info("IoT Hub: IoT Edge module identity (edgeHub), output %r", settings.output_name)
        return HubClient(sdk, "edge", settings.output_name)
    if not settings.connection_string:
        log.info(
            "IoT Hub: not configured (no IoT Edge environment, no "
            "IOTHUB_CONNECTION_STRING); detections go to the console only"
        )
        return None
    fields = _parse_connection_string(settings.connection_string)
    if settings.ca_cert:
        options["server_verification_cert"] = _read_ca(settings.ca_cert)
    from azure.iot.device import IoTHubDeviceClient, IoTHubModuleClient

    module = "ModuleId" in fields
    cls = IoTHubModuleClient if module else IoTHubDeviceClient
    try:
        sdk = cls.create_from_connection_string(settings.connection_string, **options)
    except ValueError as exc:
        raise ConfigError(f"invalid IOTHUB_CONNECTION_STRING: {exc}") from None
    who = (
        f"module {fields['DeviceId']}/{fields['ModuleId']}"
        if module
        else f"device {fields['DeviceId']}"
    )
    log.info("IoT Hub: connection string for %s at %s", who, fields["HostName"])
    return HubClient(sdk, "module" if module else "device", settings.output_name)


def _parse_connection_string(text: str) -> dict[str, str]:
    fields = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    missing = [k for k in ("HostName", "DeviceId") if not fields.get(k)]
    if missing or not (fields.get("SharedAccessKey") or fields.get("x509")):
        raise ConfigError(
            "invalid IOTHUB_CONNECTION_STRING: expected "
            "HostName=...;DeviceId=...[;ModuleId=...];SharedAccessKey=..."
        )
    return fields


def _read_ca(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read IOTHUB_CA_CERT {path}: {exc}") from None
