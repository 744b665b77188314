"""Benchmark and soak scripts: short real runs write the JSON they promise."""
from __future__ import annotations

import json

import pytest


import bench_postprocess
import bench_streams
import soak


def test_bench_streams_short_run(model_path, demo_video, tmp_path, capsys):
    out = tmp_path / "streams.json"
    assert bench_streams.main(["--streams", "1,2", "--frames", "4", "--max-batch", "2",
                               "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    one, two = report["runs"]
    assert one["frames"] == 4 and one["batch_sizes"] == {"1": 4}
    assert two["frames"] == 8 and len(two["per_stream_fps"]) == 2
    assert max(int(size) for size in two["batch_sizes"]) == 2
    assert "total fps" in capsys.readouterr().out


def test_bench_streams_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench_streams.main(["--streams", "one"])
    assert bench_streams.main(["--video", str(tmp_path / "none.mp4")]) == 2


def test_soak_short_run(model_path, demo_video, tmp_path):
    out = tmp_path / "soak.json"
    assert soak.main(["--frames", "12", "--interval", "0.2", "--warmup", "4",
                      "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["frames"] == 12
    assert report["rss"]["peak_rss_mb"] > 0 and report["rss"]["max_pct"] is not None
    frames = [s["frames"] for s in report["samples"]]
    assert frames == sorted(frames)


def test_soak_drift_figures():
    samples = [{"rss_mb": 90.0, "warm": False}, {"rss_mb": 100.0, "warm": True},
               {"rss_mb": 97.0, "warm": True}, {"rss_mb": 104.0, "warm": True}]
    assert soak.drift(samples) == {"baseline_mb": 100.0, "min_pct": -3.0, "max_pct": 4.0,
                                   "final_pct": 4.0, "peak_rss_mb": 104.0}
    with pytest.raises(SystemExit):
        soak.main(["--frames", "0"])


def test_bench_postprocess_reports_identical_boxes(model_path, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "post.json"
    assert bench_postprocess.main(["--runs", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["identical"] and report["boxes"]["fast"] >= 400
    assert report["min_iou"] == 1.0
