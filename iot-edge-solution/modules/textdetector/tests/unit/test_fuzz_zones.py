"""Fuzz targets (Hypothesis) for the ZONES parser: any text, any JSON value and any
nearly valid document either parses into zones that hold what was checked, or is
refused with one readable ZoneError line (never another exception); the module twin's
`zones` is acknowledged 200 or 400 and the live zones stay valid.

A few seconds in the normal run; `make fuzz` runs it with FUZZ_EXAMPLES examples.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

import textdetector.sinks.iothub  # noqa: F401  (before control.twin: they import each other)
from textdetector.config import RecognizerSettings, Settings
from textdetector.control.live import LiveSettings
from textdetector.control.twin import apply_desired
from textdetector.errors import ConfigError
from textdetector.recognizer.zones import CompiledZones, ZoneError, ZoneSet, parse_zones
from textdetector.recognizer.zones.polygons import self_intersecting

CHARSET = ("", *"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-/", " ")
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["*", "name", "polygon", "pattern", "keep", "drop", "sources"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["sources", "outside", "name", "polygon", "pattern", "allowed_chars", "*", "cam"]
            )
            | st.text(max_size=6),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
COORD = st.integers(-5, 60) | st.floats(-5, 60, allow_nan=False) | st.sampled_from([1e308 * 10])
ZONE = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "", "gate"]),
        "polygon": st.lists(st.lists(COORD, min_size=2, max_size=2), max_size=6),
    },
    optional={
        "pattern": st.sampled_from(["iso6346", "date", "[0-9]+", "[A-Z", "nosuch", ""]),
        "allowed_chars": st.sampled_from(["A-Z0-9", "0-9.,", "z-a", ""]),
    },
)
DOCUMENTS = st.fixed_dictionaries(
    {"sources": st.dictionaries(st.sampled_from(["*", "cam", ""]), st.lists(ZONE, max_size=3))},
    optional={"outside": st.sampled_from(["keep", "drop", "hide"])},
)


def parsed_or_refused(value) -> ZoneSet | None:
    try:
        zones = parse_zones(value)
    except ZoneError as exc:
        assert str(exc) and "\n" not in str(exc), str(exc)
        return None
    assert zones.outside in ("keep", "drop")
    for zone in zones.zones():
        assert zone.name and len(zone.polygon) >= 3
        assert all(x >= 0 and y >= 0 for x, y in zone.polygon)
        assert not self_intersecting(zone.polygon)
    return zones


@fuzz(300)
@given(st.text(max_size=120))
def test_any_text_parses_or_is_refused_readably(text):
    parsed_or_refused(text)


@fuzz(300)
@given(JSON_VALUES)
def test_any_json_value_parses_or_is_refused_readably(value):
    parsed_or_refused(value)
    parsed_or_refused(json.dumps(value))  # the same value as the text of a file


@fuzz(300)
@given(DOCUMENTS, st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=5))
@pytest.mark.slow
def test_nearly_valid_documents_give_usable_zones(document, centres):
    zones = parsed_or_refused(document)
    if zones is None:
        return
    try:
        compiled = CompiledZones(zones, CHARSET, "latin")
    except ConfigError as exc:  # e.g. iso6346 where only digits are allowed
        assert str(exc).startswith("ZONES: zone ") and "\n" not in str(exc)
        return
    boxes = np.float32(
        [[[x - 1, y - 1], [x + 1, y - 1], [x + 1, y + 1], [x - 1, y + 1]] for x, y in centres]
    ).reshape(-1, 4, 2)
    for source in ("cam", "other"):
        assigned = compiled.assign(source, boxes)
        assert len(assigned) == len(centres)
        assert all(-1 <= z < len(compiled.for_source(source)) for z in assigned)
        assert isinstance(zones.outside_frame(source, 30, 30), str)


@fuzz(200)
@given(JSON_VALUES | DOCUMENTS | st.text(max_size=60))
def test_fuzz_twin_zones(value):
    live = LiveSettings(Settings(recognizer=RecognizerSettings()))
    acks = apply_desired(live, {"zones": value, "$version": 3})
    assert acks["zones"]["ac"] in (200, 400) and acks["zones"]["ad"]
    json.loads(json.dumps(acks, default=str))
    if acks["zones"]["ac"] == 200:
        assert isinstance(live.zones, ZoneSet) and live.poll().zones == live.zones
    else:
        assert live.zones is None and "zones" in live.rejected
