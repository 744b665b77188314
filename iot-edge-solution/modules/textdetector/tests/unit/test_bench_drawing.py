"""tools/bench_drawing.py on a short run: every contender measured, targets judged."""

from __future__ import annotations

import json

import pytest

from tools import bench_drawing


def test_a_short_run_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "drawing.json"
    assert (
        bench_drawing.main(["--frames", "2", "--rounds", "1", "--lines", "6", "--out", str(out)])
        == 0
    )
    figures = json.loads(out.read_text())
    assert set(figures["ms_per_frame"]) == {
        "annotate, labels drawn before",
        "annotate, same texts, new scores",
        "annotate, new labels",
        "whole-frame Pillow",
        "mp4v encode",
    }
    assert all(ms > 0 for ms in figures["ms_per_frame"].values())
    assert {t["verdict"] for t in figures["targets"].values()} <= {"MET", "MISSED"}
    assert "target <= 5 ms" in capsys.readouterr().out


def test_bad_arguments_stop_the_tool():
    with pytest.raises(SystemExit):
        bench_drawing.main(["--frames", "0"])


def test_labels_are_distinct_unless_asked_to_repeat():
    found = bench_drawing.detections(30, (1280, 720), " 7")
    assert len(set(found.texts)) == 30 and len(found) == 30
