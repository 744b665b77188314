"""ZONES: named polygons per source, each read under its own pattern, characters or lexicon."""

from .compiled import BoundZone, CompiledZones
from .spec import Zone, ZoneError, ZoneSet, load_zones, parse_zones

__all__ = [
    "BoundZone",
    "CompiledZones",
    "Zone",
    "ZoneError",
    "ZoneSet",
    "load_zones",
    "parse_zones",
]
