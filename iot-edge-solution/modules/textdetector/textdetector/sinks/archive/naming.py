"""Blob names that list newest first, and the metadata stored with each frame.

A name starts with an inverted millisecond timestamp (13 digits), so the service's
ascending name order is newest first: `<inverted>_<source>_<frame>.jpg`. Metadata values
are ASCII strings (a Blob Storage rule); boxes are capped so metadata stays far below
the service's 8 KiB limit. Texts read in the boxes are percent-encoded UTF-8 (so any
script survives as ASCII), comma-separated in box order, within `TEXT_BUDGET` characters.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote

import numpy as np

from ...results import Detections, FrameResult

INVERT_FROM = 9_999_999_999_999  # ms; year 2286
MAX_BOXES = 64
RAW_BUDGET = 1024  # characters of encoded raw readings (REC_PATTERN); left out when longer
TEXT_BUDGET = 3072  # characters of encoded texts; with boxes and the rest, well under 8 KiB
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def blob_name(result: FrameResult, archived_at: float) -> str:
    """`<inverted ms>_<source slug>_<frame index>.jpg`, newest first in listings."""
    inverted = INVERT_FROM - int(round(archived_at * 1000))
    slug = _UNSAFE.sub("-", result.source_id.rsplit("/", 1)[-1]).strip("-")[:40] or "source"
    return f"{inverted:013d}_{slug}_{result.index:08d}.jpg"


def archived_time(name: str) -> datetime | None:
    """The archive time encoded in a blob name (None for foreign names)."""
    match = re.match(r"(\d{13})_", name)
    if not match:
        return None
    ms = INVERT_FROM - int(match.group(1))
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _ascii(text: str, limit: int = 256) -> str:
    return text.encode("ascii", "replace").decode("ascii")[:limit]


def metadata(result: FrameResult, archived_at: float, model: str, route: str) -> dict[str, str]:
    """Blob metadata: timestamp, source, count, scores, boxes, model and frame facts."""
    det = result.detections
    height, width = det.image_size
    keep = min(len(det), MAX_BOXES)
    boxes = np.rint(det.boxes[:keep]).astype(np.int64).reshape(keep, 8)
    stamp = datetime.fromtimestamp(archived_at, tz=timezone.utc)
    return {
        "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "frametime": f"{result.timestamp:.3f}",
        "frame": str(result.index),
        "source": _ascii(result.source_id),
        "count": str(len(det)),
        "scores": ",".join(f"{float(s):.3f}" for s in det.scores[:keep]),
        "boxes": ";".join(",".join(str(int(v)) for v in box) for box in boxes),
        "truncated": "true" if keep < len(det) else "false",
        "width": str(width),
        "height": str(height),
        "model": _ascii(model, 128),
        "route": route,
        **text_metadata(det.texts, det.text_scores, keep),
        **pattern_metadata(det, keep),
    }


def pattern_metadata(det: Detections, keep: int) -> dict[str, str]:
    """With REC_PATTERN: `pattern` (its name, ASCII), `matched` (1/0 per box, aligned with
    `boxes`) and `rawtexts` (the unconstrained readings, encoded as `texts`). With ZONES
    `zones` and `patterns` (per box, percent-encoded, comma-separated) instead of `pattern`."""
    if det.zones is not None and det.patterns is not None and det.matched is not None:
        return {
            "zones": ",".join(quote(z, safe="") for z in det.zones[:keep])[:1024],
            "patterns": ",".join(quote(p, safe="") for p in det.patterns[:keep])[:1024],
            "matched": ",".join("1" if m else "0" for m in det.matched[:keep]),
        }
    if not det.pattern or det.raw_texts is None or det.matched is None:
        return {}
    raw = text_metadata(det.raw_texts, det.text_scores, keep).get("texts", "")
    out = {
        "pattern": quote(det.pattern, safe="")[:256],
        "matched": ",".join("1" if m else "0" for m in det.matched[:keep]),
    }
    return out | ({"rawtexts": raw} if len(raw) <= RAW_BUDGET else {})


def text_metadata(
    texts: tuple[str, ...] | None, scores: np.ndarray | None, keep: int
) -> dict[str, str]:
    """`texts` (percent-encoded, comma-separated, aligned with `boxes`; "" = not read) and
    `textscores`; each text is shortened until all fit TEXT_BUDGET. {} when not read."""
    if texts is None or scores is None:
        return {}
    texts = texts[:keep]
    limit = max((len(t) for t in texts), default=0)
    while True:
        encoded = ",".join(quote(t[:limit], safe="") for t in texts)
        if len(encoded) <= TEXT_BUDGET or limit == 0:
            break
        limit //= 2
    return {"texts": encoded, "textscores": ",".join(f"{float(s):.3f}" for s in scores[:keep])}
