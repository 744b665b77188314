"""ZONES bound to the recognition model: one compiled constraint per distinct zone
reading (pattern, characters, lexicon), built once at start or on a twin change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from ..constrain import Constraint, PatternError
from ..ctc import allowed_classes
from .polygons import contains
from .spec import Zone, ZoneSet


@dataclass(frozen=True)
class BoundZone:
    """A zone, its polygon as cv2 wants it, and its constraint (None: read as usual)."""

    zone: Zone
    polygon: np.ndarray  # (P, 2) float32
    constraint: Constraint | None


class CompiledZones:
    """Every source's zones with their constraints; `assign` puts boxes in zones."""

    def __init__(
        self,
        zones: ZoneSet,
        charset: Sequence[str],
        language: str,
        default_chars: str = "",
        lexicon_min_score: float = 0.5,
    ) -> None:
        self.spec = zones
        self.outside = zones.outside
        cache: dict[tuple[str, str, str], Constraint | None] = {}
        self._sources: dict[str, tuple[BoundZone, ...]] = {}
        for source, members in zones.sources:
            bound = []
            for zone in members:
                key = zone.key()
                if key not in cache:
                    cache[key] = _constraint(
                        zone, charset, language, default_chars, lexicon_min_score
                    )
                polygon = np.asarray(zone.polygon, np.float32).reshape(-1, 2)
                bound.append(BoundZone(zone, polygon, cache[key]))
            self._sources[source] = tuple(bound)
        self.constraints = len({id(c) for c in cache.values() if c is not None})

    def for_source(self, source_id: str) -> tuple[BoundZone, ...]:
        """The source's own zones, else the "*" zones (as `ZoneSet.for_source`)."""
        if source_id in self._sources:
            return self._sources[source_id]
        return self._sources.get("*", ())

    def assign(self, source_id: str, boxes: np.ndarray) -> list[int]:
        """For each (N, 4, 2) box, the index of the first of the source's zones holding
        its centre, -1 when none does."""
        zones = self.for_source(source_id)
        out = []
        for quad in np.asarray(boxes, np.float32).reshape(-1, 4, 2):
            centre = quad.mean(axis=0)
            out.append(
                next(
                    (i for i, z in enumerate(zones) if contains(z.polygon, (centre[0], centre[1]))),
                    -1,
                )
            )
        return out


def _constraint(
    zone: Zone, charset: Sequence[str], language: str, default_chars: str, min_score: float
) -> Constraint | None:
    """The zone's pattern or lexicon (characters alone: the most probable string of
    them), within REC_LANG and its allowed_chars (else REC_ALLOWED_CHARS)."""
    if not zone.constrained:
        return None
    chars = zone.allowed_chars or default_chars
    allowed = allowed_classes(charset, language, chars)
    if allowed is not None and len(allowed) <= 2:
        raise ConfigError(
            f"ZONES: zone {zone.name!r}: allowed_chars {chars!r} allows no character of the "
            "recognition model's dictionary"
        )
    pattern = zone.pattern or ("" if zone.lexicon else f"[{zone.allowed_chars}]+")
    try:
        return Constraint(
            pattern, charset, allowed, zone.lexicon, min_score if zone.lexicon else 0.0
        )
    except PatternError as exc:
        raise ConfigError(f"ZONES: zone {zone.name!r}: {exc}") from None
