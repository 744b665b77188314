"""tools/charts.py: each chart drawn from a small results file shaped as its tool writes
it; the PNG decodes at the fixed size and shows its bars or lines (not a screenshot
comparison)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tools import charts

ENGINES = {
    "det_ms": {"ORT FP32": 70.2, "OV FP32": 52.1, "OV INT8": 31.0},
    "det_gate": {"OV INT8": "pass"},
    "rec_model": "rec.onnx",
    "rec_ms": {"ORT FP32": 66.0, "OV FP32": 47.5},
    "rec_gate": {},
    "detector_fps": {"ORT FP32 sequential (today)": 9.1, "OV FP32 overlapped, LATENCY": 14.2},
}
STREAMS = {
    "video": "demo_video.mp4",
    "frames_per_stream": 40,
    "max_batch": 4,
    "engine": "onnxruntime",
    "runs": [
        {"streams": n, "frames": 40 * n, "total_fps": 9.0 + n, "min_stream_fps": 9.0 / n,
         "max_stream_fps": 9.5 / n, "latency_ms_p50": 100.0 * n, "latency_ms_p95": 150.0 * n,
         "seconds": 4.0, "per_stream_fps": {}, "batch_sizes": {"1": 40}}
        for n in (1, 2, 4)
    ],
}  # fmt: skip
REUSE = [
    {"clip": clip, "mode": mode, "speedup": speed, "agreement": agree, "frames": 60}
    for clip, mode, speed, agree in [
        ("sign", "off", 1.0, 1.0), ("sign", "frame", 16.3, 1.0), ("sign", "region", 16.8, 1.0),
        ("demo", "off", 1.0, 1.0), ("demo", "frame", 1.1, 0.967), ("demo", "region", 1.6, 0.95),
    ]
]  # fmt: skip
SCORE = {"images": 3, "words": 20, "lines": 5, "exact_lines": 0.6, "cer": 0.1, "seconds": 2.0}
EVAL_REAL = {
    split: {
        reader: {tag: {**SCORE, "word_recall": recall} for tag in ("overall", "scene", "curved")}
        for reader, recall in (("ours", 0.86), ("rapidocr3", 0.81))
    }
    for split in ("tune", "test")
}
EVAL_REAL["recall_difference"] = {  # beside the splits, as tools/eval_real.py writes it
    "test": {"overall": {"images": 25, "difference": 0.05, "low": 0.01, "high": 0.12}}
}
RESULTS = {
    "bench_engines.json": ENGINES,
    "streams.json": STREAMS,
    "reuse.json": REUSE,
    "eval-real.json": EVAL_REAL,
}
PNG = {"bench_engines.json": "engines.png", "streams.json": "streams.png",
       "reuse.json": "reuse.png", "eval-real.json": "eval-real.png"}  # fmt: skip
GREEN = np.array(tuple(int(charts.OURS[i : i + 2], 16) for i in (5, 3, 1)))  # BGR


def _written(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(RESULTS))
@pytest.mark.slow
def test_each_chart_is_a_png_of_the_fixed_size_with_its_data_drawn(tmp_path, name):
    _written(tmp_path, name, RESULTS[name])
    (made,) = charts.make_charts(tmp_path)
    assert made == tmp_path / PNG[name]
    image = cv2.imread(str(made), cv2.IMREAD_COLOR)
    assert image is not None and (image.shape[1], image.shape[0]) == charts.SIZE
    ours = (np.abs(image.astype(int) - GREEN).sum(axis=2) < 30).mean()
    assert ours > 0.0005, f"{name}: no {charts.OURS} bars or lines drawn ({ours:.4f})"


@pytest.mark.slow
def test_all_charts_at_once_and_missing_files_skipped(tmp_path, capsys):
    assert charts.main([str(tmp_path)]) == 0
    assert "no results to chart" in capsys.readouterr().out
    for name, data in RESULTS.items():
        _written(tmp_path, name, data)
    assert charts.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(charts.CHARTS)


def test_streams_without_latency_still_draw(tmp_path):
    old = {
        **STREAMS,
        "runs": [{k: v for k, v in r.items() if "latency" not in k} for r in STREAMS["runs"]],
    }
    made = charts.streams_chart(old, tmp_path / "s.png")
    assert cv2.imread(str(made)).shape[:2] == (charts.SIZE[1], charts.SIZE[0])


def test_a_bad_results_file_or_folder_is_one_line(tmp_path, capsys):
    assert charts.main([str(tmp_path / "none")]) == 2
    _written(tmp_path, "streams.json", {"runs": [{"streams": 1}]})
    assert charts.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error:") for line in err)


TABLE = """## Real-scene reading quality

### test split

| tag | images | words | {OURS}: recall / exact / CER | {PEER}: recall / exact / CER |
|---|---|---|---|---|
| overall | 21 | 588 | 0.859 / 0.620 / 0.124 | 0.813 / 0.620 / 0.145 |
| vertical | 4 | 53 | 0.585 / 0.417 / 0.254 | 0.604 / 0.500 / 0.248 |

- word recall 0.859 (target >= 0.90): MISSED
""".replace("{PEER}", "RapidOCR 3.10.0 defaults").replace("{OURS}", "this project (default)")


def test_the_reading_chart_is_also_made_from_the_table(tmp_path):
    """eval_real writes its JSON only when asked (make eval asks); its table is always there."""
    report = charts.eval_real_table(TABLE)
    assert report == {
        "test": {
            "this project (default)": {
                "overall": {"word_recall": 0.859},
                "vertical": {"word_recall": 0.585},
            },
            "RapidOCR 3.10.0 defaults": {
                "overall": {"word_recall": 0.813},
                "vertical": {"word_recall": 0.604},
            },
        }
    }
    (tmp_path / "eval-real.md").write_text(TABLE, encoding="utf-8")
    assert charts.make_charts(tmp_path) == [tmp_path / "eval-real.png"]
    with pytest.raises(ValueError):
        charts.eval_real_table("no table here")


def test_every_bench_section_and_make_eval_draw_the_charts(tmp_path, monkeypatch, capsys):
    """A section's tool writes its results, then the charts beside them are drawn."""
    from tools import sections

    def tool(argv):  # a section tool: writes its results file
        _written(tmp_path, "reuse.json", REUSE)
        return 0

    monkeypatch.setattr(charts, "RESULTS", tmp_path)
    monkeypatch.setitem(sections.SECTIONS, "fake", sections.Section("a test tool", "charts"))
    monkeypatch.setattr(
        charts, "main", lambda argv, real=charts.main: real(argv) if argv else tool(argv)
    )
    assert sections.run("fake", []) == 0
    assert (tmp_path / "reuse.png").is_file()
    makefile = (Path(__file__).resolve().parents[5] / "Makefile").read_text(encoding="utf-8")
    eval_target = makefile.split("\neval:", 1)[1].split("\n\n", 1)[0]
    assert "tools.charts" in eval_target and "eval-real.json" in eval_target
