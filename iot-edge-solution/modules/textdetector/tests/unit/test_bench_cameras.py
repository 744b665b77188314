"""tools/bench_cameras.py's search and report. A whole run starts the module many times
for minutes (`make bench SECTION=cameras`); here the trial is replaced by a capacity
rule, so the doubling-then-bisecting search and the written figures are checked."""

from __future__ import annotations

import argparse
import json

import pytest

from tools import bench_cameras


@pytest.mark.parametrize(("capacity", "limit"), [(0, 32), (1, 32), (5, 32), (13, 32), (40, 32)])
def test_the_search_finds_the_largest_count_that_holds(monkeypatch, capacity, limit):
    tried: list[int] = []

    def trial(url, mode, cameras, args):
        tried.append(cameras)
        return bench_cameras.Trial(mode, cameras, cameras <= capacity, 5.0, 0)

    monkeypatch.setattr(bench_cameras, "trial", trial)
    args = argparse.Namespace(max_cameras=limit)
    found, trials = bench_cameras.most_cameras("http://127.0.0.1:1/cam", "off", args)
    assert found == min(capacity, limit)
    assert len(tried) == len(set(tried)) and len(trials) == len(tried)
    assert len(tried) <= 2 * limit.bit_length()  # doubling, then bisecting


def test_report_writes_the_ratio_beside_the_target(tmp_path, capsys):
    args = argparse.Namespace(fps=5.0, seconds=20.0, out=tmp_path)
    found = {"off": (2, []), "frame": (7, [bench_cameras.Trial("frame", 7, True, 5.0, 0)])}
    assert bench_cameras.report(found, ["off", "frame"], args) == 0
    figures = json.loads((tmp_path / "cameras.json").read_text())
    assert figures["cameras"] == {"off": 2, "frame": 7} and figures["ratio"] == 3.5
    assert "3.50x MET" in (tmp_path / "cameras.md").read_text()
    assert "(target >= 3.0x) MET" in capsys.readouterr().out
    none = {"off": (0, []), "frame": (3, [])}
    bench_cameras.report(none, ["off", "frame"], args)
    assert "n/a MISSED" in (tmp_path / "cameras.md").read_text()


def test_camera_urls_are_distinct_sources_of_one_camera():
    urls = bench_cameras.camera_urls("http://127.0.0.1:9/cam", 3)
    assert len(set(urls)) == 3 and all(u.startswith("http://127.0.0.1:9/cam?") for u in urls)
