"""Line labels: the POST body a reviewer sends and the sidecar JSON kept beside a frame.

A frame `<blob>` gets a sidecar blob `<blob>.labels.json` in the same container (never
written into the image):

    {"version": 1, "container": "lowconf", "blob": "<blob>", "lines": [
      {"index": 0, "polygon": [[x, y], [x, y], [x, y], [x, y]], "read_text": "...",
       "label": "...", "status": "confirmed" | "corrected" | "ignored",
       "by": "reviewer", "at": "2026-01-01T12:00:00Z"}, ...]}

One entry per line index (the box order of the frame's metadata), sorted by index.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl

SUFFIX = ".labels.json"
VERSION = 1
MAX_TEXT = 200  # characters of one label
MAX_BODY = 4096  # bytes of one label POST
MAX_SIDECAR = 512 * 1024  # bytes of a sidecar read back
MAX_LINES = 1000  # lines of one frame
STATUSES = ("confirmed", "corrected", "ignored")
ACTIONS = ("confirm", "ignore")
FIELDS = frozenset({"index", "action", "text"})


class LabelError(ValueError):
    """Bad label input or a malformed sidecar; the message is one readable line."""


@dataclass(frozen=True)
class LabelInput:
    """What a reviewer asked for: line `index` confirmed with `text`, or ignored."""

    index: int
    action: str
    text: str


@dataclass(frozen=True)
class LineLabel:
    """One labelled line as stored in the sidecar."""

    index: int
    polygon: list[list[int]]
    read_text: str
    label: str
    status: str
    by: str
    at: str


def sidecar_name(blob: str) -> str:
    return blob + SUFFIX


def check_text(text: str) -> str:
    """A label's text, stripped; LabelError when too long or holding control characters
    (tabs and line breaks included: they would break the label files)."""
    if len(text) > MAX_TEXT:
        raise LabelError(f"text is {len(text)} characters long: at most {MAX_TEXT}")
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            raise LabelError(f"text holds a control character (U+{ord(char):04X})")
    return text.strip()


def parse_body(raw: bytes) -> dict[str, str]:
    """The form fields of a label POST (application/x-www-form-urlencoded, UTF-8)."""
    if len(raw) > MAX_BODY:
        raise LabelError(f"request body over {MAX_BODY} bytes")
    try:
        body = raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise LabelError("request body is not UTF-8") from None
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=len(FIELDS), errors="strict")
    except UnicodeDecodeError:
        raise LabelError("a form field is not percent-encoded UTF-8") from None
    except ValueError:
        raise LabelError(f"too many form fields: expected {', '.join(sorted(FIELDS))}") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key not in FIELDS:
            raise LabelError(f"unknown field {key[:30]!r}: expected {', '.join(sorted(FIELDS))}")
        if key in fields:
            raise LabelError(f"field {key!r} given twice")
        fields[key] = value
    return fields


def parse_input(fields: Mapping[str, str], lines: int) -> LabelInput:
    """Validate the fields against a frame of `lines` read lines."""
    raw_index = fields.get("index", "")
    if not raw_index.isascii() or not raw_index.isdigit() or len(raw_index) > 6:
        raise LabelError(f"index {raw_index[:12]!r} is not a line number")
    index = int(raw_index)
    if index >= lines:
        raise LabelError(f"index {index} is out of range: the frame has {lines} lines")
    action = fields.get("action", "")
    if action not in ACTIONS:
        raise LabelError(f"action {action[:20]!r} is not one of {', '.join(ACTIONS)}")
    text = check_text(fields.get("text", ""))
    if action == "confirm" and not text:
        raise LabelError("text is empty: type the line's text or ignore the line")
    return LabelInput(index, action, text if action == "confirm" else "")


def parse_request(raw: bytes, lines: int) -> LabelInput:
    """A label POST body to a LabelInput; LabelError (answered 400) otherwise."""
    return parse_input(parse_body(raw), lines)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_label(
    wanted: LabelInput, box: list[int], read_text: str, by: str, at: str | None = None
) -> LineLabel:
    """The stored label for `wanted`: corrected when the text differs from the reading."""
    if wanted.action == "ignore":
        status = "ignored"
    else:
        status = "confirmed" if wanted.text == read_text.strip() else "corrected"
    polygon = [[int(box[i]), int(box[i + 1])] for i in range(0, 8, 2)]
    return LineLabel(wanted.index, polygon, read_text, wanted.text, status, by, at or now())


@dataclass(frozen=True)
class Sidecar:
    """The labels of one frame."""

    container: str
    blob: str
    lines: tuple[LineLabel, ...] = ()

    def with_line(self, line: LineLabel) -> Sidecar:
        kept = [old for old in self.lines if old.index != line.index]
        return Sidecar(self.container, self.blob, tuple(sorted([*kept, line], key=_index)))

    def line(self, index: int) -> LineLabel | None:
        return next((line for line in self.lines if line.index == index), None)

    def to_json(self) -> bytes:
        data = {
            "version": VERSION,
            "container": self.container,
            "blob": self.blob,
            "lines": [asdict(line) for line in self.lines],
        }
        return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _index(line: LineLabel) -> int:
    return line.index


def _line(item: object) -> LineLabel:
    if not isinstance(item, dict):
        raise LabelError("a line is not a JSON object")
    try:
        polygon = [[int(x), int(y)] for x, y in item["polygon"]]
        line = LineLabel(
            int(item["index"]),
            polygon,
            str(item["read_text"]),
            check_text(str(item["label"])),
            str(item["status"]),
            str(item["by"]),
            str(item["at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, LabelError):
            raise
        raise LabelError(f"a line lacks or mistypes a field ({type(exc).__name__})") from None
    if len(polygon) != 4 or line.status not in STATUSES or line.index < 0:
        raise LabelError(f"line {line.index}: needs 4 points and a status in {STATUSES}")
    if line.status != "ignored" and not line.label:
        raise LabelError(f"line {line.index}: {line.status} with an empty label")
    return line


def parse_sidecar(data: bytes, container: str, blob: str) -> Sidecar:
    """A stored sidecar; LabelError when it is not one this version wrote."""
    if len(data) > MAX_SIDECAR:
        raise LabelError(f"{sidecar_name(blob)} is over {MAX_SIDECAR} bytes")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LabelError(f"{sidecar_name(blob)} is not UTF-8 JSON") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise LabelError(f"{sidecar_name(blob)} is not a version {VERSION} label file")
    items = doc.get("lines")
    if not isinstance(items, list) or len(items) > MAX_LINES:
        raise LabelError(f"{sidecar_name(blob)}: 'lines' is not a list of at most {MAX_LINES}")
    lines = sorted((_line(item) for item in items), key=_index)
    if len({line.index for line in lines}) != len(lines):
        raise LabelError(f"{sidecar_name(blob)}: a line index is given twice")
    return Sidecar(container, blob, tuple(lines))
