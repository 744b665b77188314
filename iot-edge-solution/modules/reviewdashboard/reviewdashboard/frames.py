"""Archived frames as the dashboard sees them: parsed from blob names and metadata.

Names start with an inverted millisecond timestamp (`<13 digits>_...`), so the
service's name order is newest first; metadata carries source, scores and boxes, and
(when the textdetector read text) `texts`: percent-encoded, comma-separated, one per box.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import unquote

INVERT_FROM = 9_999_999_999_999
NAME = re.compile(r"(\d{13})_[A-Za-z0-9._-]{1,200}\.jpg")


def valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


def name_time(name: str) -> datetime | None:
    match = NAME.fullmatch(name)
    if not match:
        return None
    return datetime.fromtimestamp((INVERT_FROM - int(match.group(1))) / 1000, tz=timezone.utc)


@dataclass(frozen=True)
class Frame:
    """One archived frame: where it is, when, from which source, and what was found."""

    container: str
    name: str
    time: datetime
    source: str = ""
    model: str = ""
    count: int = 0
    width: int = 0
    height: int = 0
    frame: str = ""
    scores: list[float] = field(default_factory=list)
    boxes: list[list[int]] = field(default_factory=list)  # each x0,y0,...,x3,y3
    texts: list[str] = field(default_factory=list)  # read in each box ("" = not read)
    text_scores: list[float] = field(default_factory=list)
    pattern: str = ""  # REC_PATTERN's name (or the lexicon's) when one was set
    matched: list[bool] = field(default_factory=list)  # per box: the pattern matched
    raw_texts: list[str] = field(default_factory=list)  # per box: the unconstrained reading

    @property
    def min_score(self) -> float | None:
        return min(self.scores) if self.scores else None


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _floats(text: str | None) -> list[float]:
    out: list[float] = []
    for part in (text or "").split(","):
        try:
            out.append(float(part))
        except ValueError:
            continue
    return out


def _texts(text: str | None) -> list[str]:
    return [unquote(part) for part in text.split(",")] if text else []


def parse_frame(container: str, name: str, meta: Mapping[str, str] | None) -> Frame | None:
    """A Frame from a blob's name and metadata; None for names the archive did not write."""
    when = name_time(name)
    if when is None:
        return None
    meta = {k.lower(): v for k, v in (meta or {}).items()}
    scores = _floats(meta.get("scores"))
    boxes: list[list[int]] = []
    for part in (meta.get("boxes") or "").split(";"):
        values = [_int(v) for v in part.split(",")] if part else []
        if len(values) == 8:
            boxes.append(values)
    return Frame(
        container,
        name,
        when,
        meta.get("source", ""),
        meta.get("model", ""),
        _int(meta.get("count")),
        _int(meta.get("width")),
        _int(meta.get("height")),
        meta.get("frame", ""),
        scores,
        boxes,
        _texts(meta.get("texts")),
        _floats(meta.get("textscores")),
        unquote(meta.get("pattern", "")),
        [flag == "1" for flag in (meta.get("matched") or "").split(",") if flag],
        _texts(meta.get("rawtexts")),
    )
