"""Console and JSON Lines sinks."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from textdetector.config import OutputSettings, Settings
from textdetector.errors import ConfigError
from textdetector.results import Detections, FrameResult, Timings
from textdetector.sinks import ConsoleSink, JsonLinesSink, build_sinks
from textdetector.sinks.console import describe


def result(count: int = 2, index: int = 7) -> FrameResult:
    boxes = np.array([[[10, 20], [110, 20], [110, 40], [10, 40]]] * count, np.float32)
    det = Detections(boxes, np.full(count, 0.9, np.float32), (720, 1280))
    return FrameResult(index, 1.5, "demo.mp4", det, Timings(1.0, 60.0, 2.0))


def test_describe_line():
    line = describe(result())
    assert line.startswith("frame      7") and "2 text regions" in line
    assert "(10,20,110,40 0.90)" in line and "det   63.0 ms" in line


def test_describe_truncates_long_lists():
    assert "+6 more" in describe(result(count=10))


def test_console_summary_and_quiet():
    stream = io.StringIO()
    with ConsoleSink(stream=stream, quiet=True, interval_s=1e-9) as sink:
        sink.write(result())
        sink.write(result(index=8))
    text = stream.getvalue()
    assert "frame      7" not in text
    assert "fps over the last" in text and "done: 2 frames" in text and "4 text regions" in text


def test_jsonl_sink_writes_one_object_per_frame(tmp_path):
    path = tmp_path / "sub" / "out.jsonl"
    with JsonLinesSink(str(path)) as sink:
        sink.write(result())
        sink.write(result(count=0, index=8))
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["count"] == 2 and records[0]["boxes"][0][2] == [110.0, 40.0]
    assert records[1]["count"] == 0 and records[1]["timings"]["total_ms"] == 63.0


def test_jsonl_sink_unwritable_target(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write JSON_OUTPUT"):
        with JsonLinesSink(str(blocker / "out.jsonl")):
            pass


def test_build_sinks_follows_settings(tmp_path):
    assert [type(s) for s in build_sinks(Settings())] == [ConsoleSink]
    settings = Settings(output=OutputSettings(json_output=str(tmp_path / "x.jsonl")))
    assert [type(s) for s in build_sinks(settings)] == [ConsoleSink, JsonLinesSink]
