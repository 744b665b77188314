"""ZONES parsing and validation: every refusal is one readable line; boxes go to the zone
holding their centre; each distinct zone reading is compiled once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from textdetector.config import RecognizerSettings, load
from textdetector.errors import ConfigError
from textdetector.recognizer.zones import CompiledZones, ZoneError, load_zones, parse_zones
from textdetector.recognizer.zones.polygons import self_intersecting

MODULE_DIR = Path(__file__).resolve().parents[2]
SQUARE = [[0, 0], [100, 0], [100, 100], [0, 100]]
RIGHT = [[100, 0], [200, 0], [200, 100], [100, 100]]
# A dictionary shaped like the models' (blank first, space last).
CHARSET = ("", *"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-/", " ")


def doc(*zones: dict, source: str = "*", **top) -> dict:
    return {"sources": {source: list(zones)}, **top}


def zone(name: str = "a", polygon=None, **more) -> dict:
    return {"name": name, "polygon": SQUARE if polygon is None else polygon, **more}


def test_json_and_yaml_give_the_same_zones(tmp_path):
    value = doc(zone("code", pattern="iso6346"), zone("date", RIGHT, pattern="date"))
    (tmp_path / "z.json").write_text(json.dumps(value), encoding="utf-8")
    (tmp_path / "z.yaml").write_text(
        "sources:\n  '*':\n"
        "    - name: code\n      polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]\n"
        "      pattern: iso6346\n"
        "    - name: date\n      polygon: [[100, 0], [200, 0], [200, 100], [100, 100]]\n"
        "      pattern: date\n",
        encoding="utf-8",
    )
    from_json, from_yaml = load_zones(tmp_path / "z.json"), load_zones(tmp_path / "z.yaml")
    assert from_json == from_yaml and from_json.outside == "keep"
    assert [z.name for z in from_json.for_source("any-camera")] == ["code", "date"]
    assert from_json.for_source("any-camera")[0].pattern == "iso6346"


def test_a_source_s_own_zones_come_before_the_star_ones():
    zones = parse_zones(
        {"outside": "drop", "sources": {"gate": [zone("lane")], "*": [zone("other")]}}
    )
    assert [z.name for z in zones.for_source("gate")] == ["lane"]
    assert [z.name for z in zones.for_source("yard")] == ["other"]
    assert zones.outside == "drop"


def test_a_lexicon_path_is_relative_to_the_zones_file(tmp_path):
    (tmp_path / "names.txt").write_text("NORTH GATE\nSOUTH GATE\n", encoding="utf-8")
    (tmp_path / "z.json").write_text(json.dumps(doc(zone(lexicon="names.txt"))), "utf-8")
    [only] = load_zones(tmp_path / "z.json").for_source("cam")
    assert only.lexicon == tmp_path / "names.txt"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("sources: [unclosed", "neither JSON nor YAML"),
        ("[1, 2]", "expected a mapping"),
        ({"zones": {}}, "unknown key 'zones'"),
        ({"sources": {}}, "'sources' must map"),
        (doc(zone(), outside="hide"), "outside must be keep or drop"),
        ({"sources": {"cam": []}}, "non-empty list of zones"),
        (doc(zone(colour="red")), "unknown key 'colour'"),
        (doc({"polygon": SQUARE}), "needs a name"),
        (doc(zone(polygon=[[0, 0], [10, 0]])), "at least 3 points, got 2"),
        (doc(zone(polygon=[[0, 0], [10, 0], [10, "x"]])), "is not [x, y]"),
        (doc(zone(polygon=[[0, 0], [10, 0], [10, True]])), "is not [x, y]"),
        (doc(zone(polygon=[[0, 0], [10, -1], [10, 10]])), "is negative"),
        (doc(zone(polygon=[[0, 0], [10, 10], [10, 0], [0, 10]])), "self-intersecting"),
        (doc(zone(polygon=[[0, 0], [5, 5], [10, 10]])), "self-intersecting"),
        (doc(zone(), zone()), "two zones named 'a'"),
        (doc(zone(pattern="[A-Z")), "invalid regular expression"),
        (doc(zone(pattern="iso6347")), "unknown built-in pattern"),
        (doc(zone(allowed_chars="z-a")), "character class"),
        (doc(zone(pattern="date", lexicon="x.txt")), "lexicon"),
        (doc(zone(lexicon="no-such-file.txt")), "cannot read lexicon"),
    ],
)
def test_bad_zones_are_refused_in_one_line(value, fragment):
    with pytest.raises(ZoneError) as caught:
        parse_zones(value)
    message = str(caught.value)
    assert fragment in message and "\n" not in message, message


def test_an_empty_lexicon_is_refused(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ZoneError, match="no entries"):
        parse_zones(doc(zone(lexicon="empty.txt")), tmp_path)


def test_polygon_checks():
    assert not self_intersecting([(0, 0), (10, 0), (10, 10), (0, 10)])
    assert not self_intersecting([(0, 0), (10, 0), (5, 3), (10, 10), (0, 10)])  # concave
    assert self_intersecting([(0, 0), (10, 10), (10, 0), (0, 10)])  # a bow tie
    assert self_intersecting([(0, 0), (10, 0), (0, 0), (0, 10)])  # a repeated corner


def test_zones_outside_the_frame_are_named():
    zones = parse_zones(doc(zone("code", RIGHT)))
    assert zones.outside_frame("cam", 200, 100) == ""
    reason = zones.outside_frame("cam", 160, 100)
    assert "'code'" in reason and "(200, 0)" in reason and "160x100" in reason


def test_boxes_go_to_the_zone_holding_their_centre():
    compiled = CompiledZones(
        parse_zones(doc(zone("left", pattern="[0-9]+"), zone("right", RIGHT))), CHARSET, "latin"
    )
    boxes = np.float32(
        [
            [[10, 10], [60, 10], [60, 30], [10, 30]],  # centre (35, 20): left
            [[80, 40], [150, 40], [150, 60], [80, 60]],  # centre (115, 50): right
            [[150, 150], [190, 150], [190, 170], [150, 170]],  # outside both
            [[90, 90], [110, 90], [110, 110], [90, 110]],  # centre on the shared edge
        ]
    )
    assert compiled.assign("cam", boxes) == [0, 1, -1, 0]
    left, right = compiled.for_source("cam")
    assert left.constraint is not None and right.constraint is None


def test_zones_with_the_same_reading_share_one_constraint():
    value = {
        "sources": {
            "a": [zone("x", pattern="date"), zone("y", RIGHT, pattern="date")],
            "*": [zone("z", pattern="date"), zone("w", RIGHT, allowed_chars="0-9")],
        }
    }
    compiled = CompiledZones(parse_zones(value), CHARSET, "latin")
    x, y = compiled.for_source("a")
    z, w = compiled.for_source("b")
    assert x.constraint is y.constraint is z.constraint and compiled.constraints == 2
    assert w.constraint is not None and w.constraint.automaton.accepts("0042")
    assert not w.constraint.automaton.accepts("42A")


def test_a_zone_pattern_the_dictionary_cannot_read_is_a_config_error():
    with pytest.raises(ConfigError, match="zone 'a'.*can match nothing"):
        CompiledZones(parse_zones(doc(zone(pattern="[αβ]+"))), CHARSET, "latin")


def test_the_zones_setting_reads_and_checks_the_file(tmp_path):
    path = tmp_path / "zones.json"
    path.write_text(json.dumps(doc(zone("gate"))), encoding="utf-8")
    settings = load(RecognizerSettings, {"ZONES": str(path)})
    assert settings.zones is not None and settings.zones.for_source("x")[0].name == "gate"
    with pytest.raises(ConfigError, match="ZONES: no zones file"):
        load(RecognizerSettings, {"ZONES": str(tmp_path / "missing.json")})
    with pytest.raises(ConfigError, match="ZONES needs READ_TEXT=true"):
        load(RecognizerSettings, {"ZONES": str(path), "READ_TEXT": "false"})


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (json.dumps(doc(zone(polygon=[[0, 0], [10, 10], [10, 0], [0, 10]]))), "self-intersecting"),
        ("", "empty"),
        (json.dumps(doc(zone(pattern="[αβ]+"))), "can match nothing"),
    ],
)
@pytest.mark.slow
def test_start_up_stops_with_one_line(python, tmp_path, content, fragment):
    path = tmp_path / "zones.json"
    path.write_text(content, encoding="utf-8")
    done = subprocess.run(
        [python, "main.py", "--max-frames", "2"],
        cwd=MODULE_DIR,
        env={**os.environ, "ZONES": str(path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(errors) == 1 and fragment in errors[0], errors
    assert not [line for line in done.stdout.splitlines() if line.startswith("frame")]
