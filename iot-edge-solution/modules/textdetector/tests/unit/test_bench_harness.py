"""The benchmarks as one tool: the shared harness and `make bench SECTION=...`.

Contenders here are small real callables (no model): the harness's order, figures and
verdicts are what is checked, never a timing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import harness, sections

MODULE_DIR = Path(__file__).resolve().parents[2]
MAKEFILE = MODULE_DIR.parents[2] / "Makefile"


def test_measure_interleaves_contenders_round_by_round():
    order: list[str] = []

    def contender(name: str, seconds: float) -> harness.Timed:
        def run() -> float:
            order.append(name)
            return seconds

        return run

    table = harness.measure({"a": contender("a", 0.5), "b": contender("b", 2.0)}, 10, 3)
    assert order == ["a", "b"] + ["a", "b"] * 3  # warm-up, then A B A B A B
    assert table["a"] == {"fps": 20.0, "fps_all": [20.0, 20.0, 20.0]}
    assert table["b"]["fps"] == 5.0


def test_alternate_keeps_every_round_in_order():
    counts = {"x": 0, "y": 0}

    def step(name: str):
        def run() -> int:
            counts[name] += 1
            return counts[name]

        return run

    assert harness.alternate({"x": step("x"), "y": step("y")}, 2) == {"x": [1, 2], "y": [1, 2]}


def test_targets_are_printed_beside_the_figures(capsys):
    table = {"ours": {"fps": 30.0}, "theirs": {"fps": 10.0}, "base": {"fps": 40.0}}
    found = harness.ratios(
        table, [("ours", "theirs", 2.0), ("ours", "base", 0.95), ("ours", "absent", 1.0)]
    )
    assert found == {"ours/theirs": 3.0, "ours/base": 0.75}
    printed = capsys.readouterr().out
    assert "ratio ours/theirs: 3.00   (target >= 2.0)  MET" in printed
    assert "ratio ours/base: 0.75   (target >= 0.95)  MISSED" in printed
    harness.target_line("default vs base", None, 1.5)
    assert "default vs base: n/a (target >= 1.5x) MISSED" in capsys.readouterr().out


def test_verdict_limits_and_floors():
    assert harness.verdict(10.0, 10.0, at_most=True) == "MET"
    assert harness.verdict(10.01, 10.0, at_most=True) == "MISSED"
    assert harness.verdict(2.0, 2.0) == "MET" and harness.verdict(1.99, 2.0) == "MISSED"
    assert harness.verdict(None, 1.0) == "MISSED"


def test_free_port_can_be_bound():
    import socket

    port = harness.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 0 < port < 65536


def test_demo_frames_are_resized_demo_frames(demo_video):
    frames = harness.demo_frames(2, (640, 360))
    assert len(frames) == 2 and frames[0].shape == (360, 640, 3)
    assert harness.demo_frames(1, first=60)[0].shape == (720, 1280, 3)


def test_missing_test_harness_module_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        harness.test_harness("no_such_harness_module")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make bench SECTION=" in err


def test_makefile_lists_every_section_and_aliases_point_at_one():
    text = MAKEFILE.read_text(encoding="utf-8")
    help_line = next(line for line in text.splitlines() if line.startswith("bench: "))
    listed = re.findall(r"\| ([a-z0-9-]+)", help_line) + ["all"]
    assert sorted(listed) == sorted(sections.SECTIONS)
    aliases = dict(re.findall(r"^SECTION_OF_([a-z-]+) := ([a-z-]+)$", text, re.MULTILINE))
    assert set(aliases) == {
        "bench-post",
        "bench-streams",
        "bench-gpu",
        "bench-http",
        "bench-triton",
        "bench-engines",
        "soak",
        "soak-streams",
    }
    assert set(aliases.values()) <= set(sections.SECTIONS)


@pytest.mark.parametrize("name", list(sections.SECTIONS))
def test_every_section_starts_its_tool(name, capsys):
    """`--help` reaches the section's (first) tool: it imports and parses its options."""
    with pytest.raises(SystemExit) as stop:
        sections.run(name, ["--help"])
    assert stop.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_unknown_section_is_one_line_and_exit_2():
    done = subprocess.run(
        [sys.executable, "-m", "tools.sections", "speed"],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "soak-streams" in done.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "tools.sections", "--list"],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
    )
    assert listing.returncode == 0
    assert all(f"  {name} " in listing.stdout for name in sections.SECTIONS)


def test_bench_tables_carry_the_targets_and_verdicts():
    """bench.md and ocr.md, the tables the docs quote, from made-up figures."""
    from tools import bench, bench_ocr

    fps = {"model-only": 20.0, "pipeline": 19.5, "rapidocr-defaults": 5.0}
    ocr = {
        "model_set": "ppocrv6",
        "results": {"ocr-pipeline": {"fps": 5.0}, "ocr-model-only": {"fps": 6.0}},
        "ratios": {"ocr-pipeline/ocr-model-only": 0.833},
        "crops": {
            "crops_per_frame": 3.1,
            "crops_per_call": 4.8,
            "pipeline_rec_ms_per_crop": 41.7,
            "model_rec_ms_per_crop": 36.3,
        },
    }
    output = {
        "machine": "a CPU, 2 cores",
        "frames": 20,
        "rounds": 3,
        "engine": "engine openvino",
        "results": {"720p": {name: {"fps": value} for name, value in fps.items()}},
        "ratios": {"720p": {"pipeline/model-only": 0.975, "pipeline/rapidocr-defaults": 3.9}},
        "ocr": ocr,
    }
    text = bench.markdown(output)
    assert "| 720p | 20.00 | 19.50 | 5.00 |" in text
    assert "| pipeline / model-only | 0.97 MET | >= 0.95 |" in text
    assert "| detector / model-only | n/a |  |" in text
    assert "| ocr-pipeline / ocr-model-only | 0.83 MISSED | >= 0.9 |" in text
    assert "| recognition ms per region, pipeline / model-only | 41.7 / 36.3 |  |" in text
    two = bench_ocr.markdown({"ppocrv6": ocr, "ppocrv4": ocr})
    assert two.splitlines()[0] == "|  | MODEL_SET=ppocrv6 | MODEL_SET=ppocrv4 | target |"
