"""CloudEvents 1.0 in the MQTT binding, built and read with the `cloudevents` SDK.

Binary mode: the attributes are MQTT v5 user properties (`specversion`, `type`,
`source`, `id`, `time`, `datacontenttype`, `subject`, `sequence`), the data is the
payload and its media type the Content Type property. Structured mode: one JSON
CloudEvent (`application/cloudevents+json`) per message.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from dateutil.parser import isoparse
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TYPE_PREFIX = "textdetector."
JSON = "application/json"
STRUCTURED = JSONFormat.CONTENT_TYPE  # application/cloudevents+json
_FORMAT = JSONFormat()


def event_source(client_id: str, source_id: str) -> str:
    """The CloudEvents `source` (a URI reference): this module instance and the camera."""
    return f"/textdetector/{quote(client_id, safe='')}/{quote(source_id, safe='')}"


def make_event(kind: str, source: str, subject: str, data: dict[str, Any], event_id: str, seq: int):
    """One CloudEvent of type `textdetector.<kind>` with JSON data."""
    return CloudEvent(
        {
            "specversion": "1.0",
            "type": TYPE_PREFIX + kind,
            "source": source,
            "id": event_id,
            "time": datetime.now(timezone.utc),
            "datacontenttype": JSON,
            "subject": subject,
            "sequence": str(seq),
        },
        data,
    )


def rfc3339(value: Any) -> str:
    if isinstance(value, datetime):
        text = value.isoformat(timespec="milliseconds")
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return str(value)


def to_mqtt(event: CloudEvent, mode: str) -> tuple[bytes, Properties]:
    """Payload and PUBLISH properties of `event` in `mode` (binary or structured)."""
    props = Properties(PacketTypes.PUBLISH)
    if mode == "structured":
        props.ContentType = STRUCTURED
        return _FORMAT.write(event), props
    attributes = event.get_attributes()
    props.ContentType = attributes.get("datacontenttype", JSON)
    props.UserProperty = [(name, rfc3339(value)) for name, value in attributes.items()]
    data = event.get_data()
    payload = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":"))
    return payload if isinstance(payload, bytes) else payload.encode(), props


def from_mqtt(payload: bytes, properties: Properties | None) -> BaseCloudEvent | None:
    """The CloudEvent a message carries (binary or structured), None if it is not one.

    Raises ValueError for a message that claims to be a CloudEvent but is malformed."""
    user = dict(getattr(properties, "UserProperty", None) or [])
    content_type = getattr(properties, "ContentType", "") or ""
    try:
        if "specversion" in user:
            attributes: dict[str, Any] = dict(user)
            if "time" in attributes:
                attributes["time"] = isoparse(attributes["time"])
            attributes.setdefault("datacontenttype", content_type or None)
            if attributes["datacontenttype"] is None:
                del attributes["datacontenttype"]
            kind = attributes.get("datacontenttype") or ""
            data = _FORMAT.read_data(payload, kind) if "json" in kind else payload
            return CloudEvent(attributes, data)
        if content_type.startswith(STRUCTURED) or payload[:1] == b"{":
            doc = json.loads(payload)
            if isinstance(doc, dict) and "specversion" in doc:
                return _FORMAT.read(None, payload)
    except (BaseCloudEventException, ValueError, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(f"malformed CloudEvent ({exc})") from None
    return None
