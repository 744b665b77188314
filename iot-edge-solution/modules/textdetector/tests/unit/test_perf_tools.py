"""Benchmark and soak scripts: short real runs write the JSON they promise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from components import need

from tools import bench, bench_matrix, bench_ocr, bench_postprocess, bench_streams, soak


@pytest.mark.slow
def test_bench_streams_short_run(model_path, demo_video, tmp_path, capsys):
    out = tmp_path / "streams.json"
    assert (
        bench_streams.main(
            ["--streams", "1,2", "--frames", "4", "--max-batch", "2", "--out", str(out)]
        )
        == 0
    )
    report = json.loads(out.read_text())
    one, two = report["runs"]
    assert one["frames"] == 4 and one["batch_sizes"] == {"1": 4}
    assert two["frames"] == 8 and len(two["per_stream_fps"]) == 2
    assert max(int(size) for size in two["batch_sizes"]) == 2
    assert 0 < one["latency_ms_p50"] <= one["latency_ms_p95"]
    assert "total fps" in capsys.readouterr().out


def test_bench_streams_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench_streams.main(["--streams", "one"])
    assert bench_streams.main(["--video", str(tmp_path / "none.mp4")]) == 2


@pytest.mark.slow
def test_soak_short_run(model_path, demo_video, tmp_path):
    out = tmp_path / "soak.json"
    assert (
        soak.main(["--frames", "18", "--interval", "0.2", "--warmup", "4", "--out", str(out)]) == 0
    )
    report = json.loads(out.read_text())
    assert report["frames"] == 18
    # READ_TEXT is on by default: the demo's text starts at frame 15
    assert report["read_text"] and report["regions_read"] >= 2
    assert report["rss"]["peak_rss_mb"] > 0 and report["rss"]["max_pct"] is not None
    frames = [s["frames"] for s in report["samples"]]
    assert frames == sorted(frames)


def test_soak_drift_figures():
    samples = [
        {"rss_mb": 90.0, "warm": False},
        {"rss_mb": 100.0, "warm": True},
        {"rss_mb": 97.0, "warm": True},
        {"rss_mb": 104.0, "warm": True},
    ]
    assert soak.drift(samples) == {
        "baseline_mb": 100.0,
        "min_pct": -3.0,
        "max_pct": 4.0,
        "final_pct": 4.0,
        "peak_rss_mb": 104.0,
    }
    with pytest.raises(SystemExit):
        soak.main(["--frames", "0"])


@pytest.mark.slow
def test_bench_postprocess_reports_identical_boxes(model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "post.json"
    assert bench_postprocess.main(["--runs", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["identical"] and report["boxes"]["fast"] >= 400
    assert report["min_iou"] == 1.0
    assert report["target"]["ms"] == 10.0 and report["target"]["min_regions"] == 400
    assert report["target"]["verdict"] in ("MET", "MISSED")
    assert 0 < report["median_cpu_ms"]["fast"] < report["median_cpu_ms"]["reference"]
    printed = capsys.readouterr().out
    assert (
        f"measured {report['median_ms']['fast']:.2f} ms -> {report['target']['verdict']}" in printed
    )


def test_bench_postprocess_target_verdict():
    assert bench_postprocess.target_verdict(9.99, 563)["verdict"] == "MET"
    assert bench_postprocess.target_verdict(10.0, 400)["verdict"] == "MET"
    assert bench_postprocess.target_verdict(10.01, 563)["verdict"] == "MISSED"
    assert bench_postprocess.target_verdict(2.0, 399)["verdict"] == "NOT DENSE"


@pytest.mark.slow
def test_bench_ocr_section_short_run(model_path, rec_model_path, demo_video, tmp_path, capsys):
    """The OCR section on one frame, one round: every contender, ratios, crop figures."""
    pytest.importorskip("rapidocr_onnxruntime")
    assert (
        bench.main(["--frames", "1", "--rounds", "1", "--sections", "ocr", "--out", str(tmp_path)])
        == 0
    )
    report = json.loads((tmp_path / "bench.json").read_text())
    assert "results" not in report  # the detection section was not asked for
    ocr = report["ocr"]
    assert set(ocr["results"]) == {
        "ocr-model-only",
        "ocr-pipeline",
        "rapidocr-ocr-defaults",
        "rapidocr-ocr-matched",
        "rapidocr3-ocr-defaults",
    }
    assert all(row["fps"] > 0 for row in ocr["results"].values())
    assert set(ocr["ratios"]) == {f"{a}/{b}" for a, b, _ in bench_ocr.RATIOS}
    crops = ocr["crops"]
    assert crops["crops_per_frame"] >= 1 and 1 <= crops["crops_per_call"] <= 6
    assert crops["pipeline_rec_ms_per_crop"] > 0 and crops["model_rec_ms_per_crop"] > 0
    printed = capsys.readouterr().out
    assert "(target >= 2.5)" in printed and ("MET" in printed or "MISSED" in printed)
    table = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "OCR (detection + recognition)" in table and "| >= 2.5 |" in table


@pytest.mark.slow
def test_bench_engines_section_short_run(model_path, demo_video, tmp_path, capsys):
    """Every engine x precision here on one frame: fps, ratios, gate, targets, README table."""
    assert (
        bench.main(
            ["--frames", "1", "--rounds", "1", "--sections", "engines", "--out", str(tmp_path)]
        )
        == 0
    )
    engines = json.loads((tmp_path / "bench.json").read_text())["engines"]
    pairs, absent = bench_matrix.available()
    labels = {f"{engine} {precision}" for engine, precision in pairs}
    assert set(engines["ratios"]) == set(engines["gate"]) == labels
    assert engines["ratios"]["onnxruntime fp32"] == 1.0 and "tensorrt" in engines["absent"]
    assert all(row["fps"] > 0 for row in engines["results"].values())
    printed = capsys.readouterr().out
    assert f"(target >= {bench_matrix.DEFAULT_TARGET}x)" in printed
    table = (tmp_path / "engines.md").read_text()
    assert all(f"| {label} |" in table for label in labels) and "cores" in table


def test_bench_engines_onnxruntime_contender_runs_a_blob(model_path):
    """`make bench SECTION=engines`' reference contender: a blob in, the model's output
    out (it once passed its settings where the engine takes the model's path)."""
    from tools import bench_engines

    output = bench_engines.ort_runner(model_path)(np.zeros((1, 3, 64, 96), np.float32))
    assert output.shape == (1, 1, 64, 96)


def test_bench_refuses_unknown_sections(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--sections", "speed"])
    assert "--sections" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_e2e_times_both_whole_processes_side_by_side(demo_video, tmp_path, capsys):
    """tools/bench_e2e.py on a 3-frame clip: one round of `main.py` and of RapidOCR 3.10,
    the ratio printed with the 2x target beside it and written to JSON."""
    import importlib.util

    import cv2

    from tools import bench_e2e

    need(
        importlib.util.find_spec("rapidocr") is not None, "rapidocr 3.10 missing: run `make setup`"
    )
    capture = cv2.VideoCapture(str(demo_video))
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 15, (1280, 720))
    for _ in range(3):
        writer.write(capture.read()[1])
    writer.release()
    out = tmp_path / "e2e.json"
    assert bench_e2e.main(["--rounds", "1", "--video", str(clip), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["target"] == 2.0 and figures["ratio"] > 0
    assert len(figures["seconds"]["ours"]) == len(figures["seconds"]["rapidocr3"]) == 1
    assert "(target >= 2.0x)" in capsys.readouterr().out
