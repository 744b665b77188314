"""Message format: detections as an AVA/LVA-style inference document, size-limited.

Each text region is an `entity` inference with a normalised box (l, t, w, h in 0-1)
and its quadrilateral in source pixels as the `polygon` extension ("x,y x,y x,y x,y");
when text is read, its reading and confidence are the `text` and `textConfidence`
extensions (schema 2.0; extensions were always open strings, so 1.0 readers are not
broken). The schema lives beside this file (`message.schema.json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ... import __version__
from ...recognizer.events import Appearance
from ...results import Detections, FrameResult

SCHEMA_PATH = Path(__file__).with_name("message.schema.json")
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
MAX_MESSAGE_BYTES = 256 * 1024
# Room kept for the system and application properties IoT Hub counts in the size.
PROPERTY_ALLOWANCE = 4 * 1024
MAX_BODY_BYTES = MAX_MESSAGE_BYTES - PROPERTY_ALLOWANCE
# 1.0: detections, summary, sourceState; 2.0 adds readings and textAppearance (additive).
SCHEMA_VERSION = "2.0"


@dataclass(frozen=True)
class OutgoingMessage:
    """A serialised body and its application properties, ready for any transport."""

    body: bytes
    properties: dict[str, str]

    def to_json(self) -> Any:
        return json.loads(self.body.decode(CONTENT_ENCODING))


def inferences(result: FrameResult) -> list[dict[str, Any]]:
    """One `entity` inference per text region of the frame."""
    det = result.detections
    out = []
    regions = zip(det.boxes, det.xyxy(), det.scores)
    for i, (quad, (x0, y0, x1, y1), score) in enumerate(regions):
        out.append(
            {
                "type": "entity",
                "subtype": "text",
                "entity": {
                    "tag": {"value": "text", "confidence": round(float(score), 4)},
                    "box": normalised_box((x0, y0, x1, y1), det.image_size),
                },
                "extensions": {
                    "polygon": " ".join(f"{x:.1f},{y:.1f}" for x, y in quad),
                    **reading_extensions(det, i),
                    **({"reused": "true"} if result.reused else {}),
                },
            }
        )
    return out


def reading_extensions(det: Detections, index: int) -> dict[str, str]:
    """`text` and `textConfidence` of region `index` ("" = nothing read), with REC_PATTERN
    also `rawText`, `pattern` and `matched` ("true"/"false"); {} when no text was read at
    all (READ_TEXT=false)."""
    if det.texts is None or det.text_scores is None:
        return {}
    return {
        "text": det.texts[index],
        "textConfidence": f"{float(det.text_scores[index]):.4f}",
        **det.pattern_extensions(index),
    }


def normalised_box(
    box: tuple[float, float, float, float], image_size: tuple[int, int]
) -> dict[str, float]:
    """x_min, y_min, x_max, y_max pixels as the AVA box (l, t, w, h in 0-1)."""
    height, width = image_size
    x0, y0, x1, y1 = box
    return {
        "l": _unit(x0 / width),
        "t": _unit(y0 / height),
        "w": _unit((x1 - x0) / width),
        "h": _unit((y1 - y0) / height),
    }


def build_messages(
    result: FrameResult,
    kind: str,
    seq: int,
    model: str,
    backend: str,
    summary: dict[str, Any] | None = None,
    max_body: int = MAX_BODY_BYTES,
) -> list[OutgoingMessage]:
    """Messages for one frame: one, or several parts when the body would pass `max_body`."""
    height, width = result.detections.image_size
    items = inferences(result)
    doc: dict[str, Any] = {
        "kind": kind,
        "schemaVersion": SCHEMA_VERSION,
        "seq": seq,
        "frame": {
            "index": result.index,
            "timestamp": round(result.timestamp, 3),
            "sourceId": result.source_id,
            "width": width,
            "height": height,
        },
        "model": model,
        "backend": backend,
        "version": __version__,
        "regionCount": len(items),
        "part": 1,
        "parts": 1,
        "truncated": False,
        "inferences": items,
    }
    if summary is not None:
        doc["summary"] = summary
    chunks = _split(doc, items, max_body)
    props = {
        "kind": kind,
        "frameTimestamp": f"{result.timestamp:.3f}",
        "sourceId": result.source_id,
        "model": model,
        "backend": backend,
        "schemaVersion": SCHEMA_VERSION,
        "reused": "true" if result.reused else "false",
    }
    messages = []
    for part, chunk in enumerate(chunks, start=1):
        doc.update(inferences=chunk, part=part, parts=len(chunks))
        body = _dump(doc)
        if len(body) > max_body:  # a frame record alone too large: keep the frame, flag it
            doc.update(inferences=[], truncated=True)
            body = _dump(doc)
        messages.append(
            OutgoingMessage(body, {**props, "seq": str(seq), "part": f"{part}/{len(chunks)}"})
        )
    return messages


def source_health(entry: dict[str, Any]) -> dict[str, Any]:
    """One source's health (a HealthRegistry snapshot entry) as telemetry and the twin
    show it: camelCase, `since` as ISO 8601 UTC."""
    since = datetime.fromtimestamp(entry["since"], timezone.utc)
    return {
        "id": entry["source_id"],
        "state": entry["state"],
        "since": since.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "reconnects": entry["reconnects"],
        "framesRead": entry["frames_read"],
        "framesDropped": entry["frames_dropped"],
        "lastError": entry["last_error"],
    }


def build_source_state(
    event: dict[str, Any], entry: dict[str, Any], seq: int, model: str, backend: str
) -> OutgoingMessage:
    """A `sourceState` message: a source changed state (connected, reconnecting, down)."""
    doc = {
        "kind": "sourceState",
        "schemaVersion": SCHEMA_VERSION,
        "seq": seq,
        "model": model,
        "backend": backend,
        "version": __version__,
        "previous": event["previous"],
        "reason": event.get("reason", ""),
        "source": source_health(entry),
    }
    props = {
        "kind": "sourceState",
        "seq": str(seq),
        "sourceId": entry["source_id"],
        "model": model,
        "backend": backend,
        "schemaVersion": SCHEMA_VERSION,
    }
    return OutgoingMessage(_dump(doc), props)


def build_text_appearance(
    appearance: Appearance,
    source_id: str,
    image_size: tuple[int, int],
    seq: int,
    model: str,
    backend: str,
) -> OutgoingMessage:
    """A `textAppearance` message: one line of text seen on a stream, sent once it ended."""
    a = appearance
    height, width = image_size
    doc = {
        "kind": "textAppearance",
        "schemaVersion": SCHEMA_VERSION,
        "seq": seq,
        "model": model,
        "backend": backend,
        "version": __version__,
        "sourceId": source_id,
        "width": width,
        "height": height,
        "text": a.text,
        "bestText": a.best_text,
        "bestScore": round(a.best_score, 4),
        "bestFrame": a.best_frame,
        "firstFrame": a.first_frame,
        "lastFrame": a.last_frame,
        "firstSeen": round(a.first_time, 3),
        "lastSeen": round(a.last_time, 3),
        "frames": a.frames,
        "box": normalised_box(a.box, image_size),
        "pixels": [round(v, 1) for v in a.box],
    }
    props = {
        "kind": "textAppearance",
        "seq": str(seq),
        "sourceId": source_id,
        "model": model,
        "backend": backend,
        "schemaVersion": SCHEMA_VERSION,
        "frameTimestamp": f"{a.first_time:.3f}",
    }
    return OutgoingMessage(_dump(doc), props)


def _split(doc: dict[str, Any], items: list[dict[str, Any]], max_body: int) -> list[list]:
    """Cut `items` into consecutive chunks whose documents each fit `max_body`."""
    envelope = len(_dump({**doc, "inferences": [], "parts": 999999, "part": 999999}))
    budget = max_body - envelope
    if budget <= 0:
        return [items]  # not even the frame record fits: one part, truncated below
    chunks: list[list] = [[]]
    used = 0
    for item in items:
        size = len(_dump(item)) + 1  # the comma
        if chunks[-1] and used + size > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(item)
        used += size
    return chunks


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(CONTENT_ENCODING)


def _unit(value: float) -> float:
    return round(min(max(float(value), 0.0), 1.0), 5)
