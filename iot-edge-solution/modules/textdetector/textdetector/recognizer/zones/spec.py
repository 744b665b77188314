"""ZONES: named polygons per source, each with its own pattern, characters or lexicon.

The document (a JSON or YAML file, or the module twin's desired property `zones`):

    outside: keep            # or drop: text outside every zone is ignored
    sources:
      gate-cam:              # a source id as the module names sources; "*" = any other
        - name: code
          polygon: [[0, 0], [640, 0], [640, 200], [0, 200]]
          pattern: iso6346   # or allowed_chars: A-Z0-9, or lexicon: names.txt

Parsing checks everything that does not need a frame or the model: `ZoneError` (a
ValueError) carries one readable line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .polygons import area, self_intersecting

ANY = "*"
TOP_KEYS = {"outside", "sources"}
ZONE_KEYS = {"name", "polygon", "pattern", "allowed_chars", "lexicon"}
OUTSIDE = ("keep", "drop")


class ZoneError(ValueError):
    """ZONES is not a valid zones document."""


@dataclass(frozen=True)
class Zone:
    """One named polygon (frame pixels) and what its text must be (all empty: as usual)."""

    name: str
    polygon: tuple[tuple[float, float], ...]
    pattern: str = ""
    allowed_chars: str = ""
    lexicon: Path | None = None

    @property
    def constrained(self) -> bool:
        return bool(self.pattern or self.allowed_chars or self.lexicon)

    def key(self) -> tuple[str, str, str]:
        """What its reading depends on: zones with the same key share one constraint."""
        return (self.pattern, self.allowed_chars, str(self.lexicon or ""))


@dataclass(frozen=True)
class ZoneSet:
    """Every source's zones; `outside`: keep or drop text outside every zone."""

    sources: tuple[tuple[str, tuple[Zone, ...]], ...]  # (source id or "*", its zones)
    outside: str = "keep"

    def by_source(self) -> dict[str, tuple[Zone, ...]]:
        return dict(self.sources)

    def for_source(self, source_id: str) -> tuple[Zone, ...]:
        """The source's own zones, else the "*" zones, else none."""
        sources = self.by_source()
        return sources[source_id] if source_id in sources else sources.get(ANY, ())

    def zones(self) -> list[Zone]:
        return [zone for _, zones in self.sources for zone in zones]

    def outside_frame(self, source_id: str, width: int, height: int) -> str:
        """A readable reason when a zone of `source_id` reaches past a width x height
        frame; "" when every zone fits."""
        for zone in self.for_source(source_id):
            for x, y in zone.polygon:
                if x > width or y > height:
                    return (
                        f"ZONES: zone {zone.name!r} of source {source_id} has the point "
                        f"({x:g}, {y:g}) outside its {width}x{height} frame"
                    )
        return ""


def load_zones(path: Path) -> ZoneSet:
    """The zones file at `path` (JSON or YAML); lexicon paths are relative to its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ZoneError(f"no zones file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ZoneError(f"cannot read the zones file {path}: {exc}") from None
    return parse_zones(text, path.parent)


def parse_zones(value: Any, base: Path | None = None) -> ZoneSet:
    """A zones document given as JSON or YAML text or as its parsed mapping."""
    if isinstance(value, (str, bytes)):
        value = _decode(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
    if not isinstance(value, Mapping):
        raise ZoneError("zones: expected a mapping with 'sources' (and optionally 'outside')")
    unknown = set(value) - TOP_KEYS
    if unknown:
        raise ZoneError(f"zones: unknown key {_first(unknown)!r}; expected {sorted(TOP_KEYS)}")
    outside = value.get("outside", "keep")
    if outside not in OUTSIDE:
        raise ZoneError(f"zones: outside must be keep or drop, not {outside!r}")
    sources = value.get("sources")
    if not isinstance(sources, Mapping) or not sources:
        raise ZoneError("zones: 'sources' must map source ids (or '*') to lists of zones")
    parsed: dict[str, tuple[Zone, ...]] = {}
    for source, zones in sources.items():
        if not isinstance(source, str) or not source.strip():
            raise ZoneError(f"zones: source ids must be non-empty strings, not {source!r}")
        parsed[source] = _zones(source, zones, base)
    return ZoneSet(tuple(parsed.items()), outside)


def _decode(text: str) -> Any:
    if not text.strip():
        raise ZoneError("zones: the document is empty")
    try:
        return json.loads(text)
    except ValueError:
        pass
    except RecursionError:
        raise ZoneError("zones: the document is nested too deeply") from None
    import yaml  # type: ignore[import-untyped]  # no stubs in the image

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = " ".join(str(exc).split())
        raise ZoneError(f"zones: neither JSON nor YAML: {line}") from None
    except RecursionError:
        raise ZoneError("zones: the document is nested too deeply") from None


def _first(keys: set) -> str:
    return sorted(map(str, keys))[0]


def _zones(source: str, zones: Any, base: Path | None) -> tuple[Zone, ...]:
    if not isinstance(zones, list) or not zones:
        raise ZoneError(f"zones: source {source!r} needs a non-empty list of zones")
    out = [_zone(source, i, zone, base) for i, zone in enumerate(zones)]
    names = [zone.name for zone in out]
    for name in names:
        if names.count(name) > 1:
            raise ZoneError(f"zones: source {source!r} has two zones named {name!r}")
    return tuple(out)


def _zone(source: str, index: int, zone: Any, base: Path | None) -> Zone:
    where = f"zones: source {source!r}, zone {index + 1}"
    if not isinstance(zone, Mapping):
        raise ZoneError(f"{where}: expected a mapping with name and polygon")
    unknown = set(zone) - ZONE_KEYS
    if unknown:
        raise ZoneError(f"{where}: unknown key {_first(unknown)!r}; expected {sorted(ZONE_KEYS)}")
    name = zone.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ZoneError(f"{where}: needs a name (a non-empty string)")
    where = f"zones: source {source!r}, zone {name!r}"
    polygon = _polygon(where, zone.get("polygon"))
    pattern = _text(where, zone, "pattern")
    chars = _text(where, zone, "allowed_chars")
    lexicon = _lexicon(where, zone.get("lexicon"), base)
    if pattern and lexicon is not None:
        raise ZoneError(f"{where}: set pattern or lexicon, not both")
    _check_reading(where, pattern, chars)
    return Zone(name.strip(), polygon, pattern, chars, lexicon)


def _polygon(where: str, value: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list):
        raise ZoneError(f"{where}: polygon must be a list of [x, y] points")
    points = []
    for point in value:
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not all(_number(c) for c in point)
        ):
            raise ZoneError(f"{where}: polygon point {point!r} is not [x, y] in pixels")
        x, y = float(point[0]), float(point[1])
        if x < 0 or y < 0:
            raise ZoneError(f"{where}: polygon point [{x:g}, {y:g}] is negative")
        points.append((x, y))
    if len(points) < 3:
        raise ZoneError(f"{where}: a polygon needs at least 3 points, got {len(points)}")
    if self_intersecting(points):
        raise ZoneError(f"{where}: the polygon's edges cross (self-intersecting)")
    if area(points) <= 0:
        raise ZoneError(f"{where}: the polygon has no area")
    return tuple(points)


def _number(value: Any) -> bool:
    """A finite int or float (not a bool), one a float can hold."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _text(where: str, zone: Mapping, key: str) -> str:
    value = zone.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ZoneError(f"{where}: {key} must be a string")
    return value.strip()


def _lexicon(where: str, value: Any, base: Path | None) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ZoneError(f"{where}: lexicon must be a file path")
    from ..constrain.lexicon import read_entries
    from ..constrain.patterns import PatternError

    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        read_entries(path)
    except (PatternError, OSError) as exc:
        raise ZoneError(f"{where}: lexicon: {exc}") from None
    return path


def _check_reading(where: str, pattern: str, chars: str) -> None:
    """A zone's pattern and characters, checked as REC_PATTERN and REC_ALLOWED_CHARS."""
    from ...config import allowed_chars
    from ..constrain.patterns import PatternError, compile_pattern

    try:
        if pattern:
            compile_pattern(pattern)
        if chars:
            allowed_chars(chars)
    except (PatternError, ValueError) as exc:
        raise ZoneError(f"{where}: {exc}") from None
