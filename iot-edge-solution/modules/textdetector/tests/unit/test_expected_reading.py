"""REC_PATTERN end to end: generated container-code and display photos through the real
detector and reader, every output carrying the constrained and the raw text, text events
keyed by the matched value, and the start-up errors (one line, non-zero exit)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from textdetector.config import RecognizerSettings, load
from textdetector.errors import ConfigError
from textdetector.recognizer import TextRecognizer, read_regions
from textdetector.recognizer.events import TextTracker
from textdetector.results import Detections, FrameResult
from textdetector.serve.formats import cv_reading, lva_inferences
from textdetector.sinks.archive.naming import metadata
from textdetector.sinks.console import describe
from textdetector.sinks.iothub.message import reading_extensions
from tools import make_container_set, make_display_set

MODULE_DIR = Path(__file__).resolve().parents[2]


def read_lines(detector, images: list[np.ndarray], pattern: str) -> list[list[str]]:
    """Each image's lines (spaces dropped) read with `pattern`."""
    with TextRecognizer.open(RecognizerSettings(rec_pattern=pattern)) as rec:
        out = []
        for image in images:
            found, _ = detector.detect(image)
            (read,), _ = read_regions(rec, [image], [found])
            out.append([line.text.replace(" ", "") for line in read.lines()])
        return out


def rendered(module, tmp_path: Path, count: int) -> list[tuple[dict, np.ndarray]]:
    import cv2

    truth = module.render(tmp_path, count)
    records = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    return [(r, cv2.imread(str(truth.parent / r["image"]))) for r in records]


@pytest.mark.slow
def test_container_codes_are_read_exactly_with_iso6346(detector, tmp_path):
    samples = rendered(make_container_set, tmp_path, 6)
    lines = read_lines(detector, [image for _, image in samples], "iso6346")
    codes = [record["code"] for record, _ in samples]
    assert all(code in found for code, found in zip(codes, lines)), list(zip(codes, lines))
    assert len(set(codes)) == 6 and all(make_container_set.check_digit(c) >= 0 for c in codes)


@pytest.mark.slow
def test_display_codes_are_read_with_a_regular_expression(detector, tmp_path):
    if not (make_display_set.FONT_DIR / make_display_set.FONTS[0]).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("fonts-dseg is missing (scripts/test-deps.d/70-fonts-dseg.sh)")
        pytest.skip("fonts-dseg is not installed (scripts/test-deps.d/70-fonts-dseg.sh)")
    samples = rendered(make_display_set, tmp_path, 4)
    lines = read_lines(detector, [image for _, image in samples], "[A-Z]{3}-[0-9]{3}")
    assert all(r["text"] in found for (r, _), found in zip(samples, lines))


@pytest.mark.slow
def test_container_set_is_deterministic_with_a_held_out_split(tmp_path):
    first = make_container_set.render(tmp_path / "a", 10).read_bytes()
    assert first == make_container_set.render(tmp_path / "b", 10).read_bytes()
    records = [json.loads(line) for line in first.decode().splitlines()]
    assert [r["split"] for r in records].count("held_out") == 2


def matched_detections() -> Detections:
    boxes = np.float32(
        [[[0, 0], [40, 0], [40, 10], [0, 10]], [[0, 20], [30, 20], [30, 30], [0, 30]]]
    )
    return Detections(boxes, np.float32([0.9, 0.8]), (40, 60)).with_texts(
        ("CSQU3054383", "EXIT"),
        np.float32([0.8, 0.95]),
        ("CSQU 3O5438 3", "EXIT"),
        np.array([True, False]),
        "iso6346",
    )


def test_every_output_carries_the_raw_text_the_pattern_and_the_match():
    det = matched_detections()
    frame = FrameResult(7, 1.5, "gate", det)
    body = det.to_dict()
    assert body["texts"] == ["CSQU3054383", "EXIT"] and body["raw_texts"][0] == "CSQU 3O5438 3"
    assert body["matched"] == [True, False] and body["pattern"] == "iso6346"
    assert reading_extensions(det, 0) | {} == {
        "text": "CSQU3054383",
        "textConfidence": "0.8000",
        "rawText": "CSQU 3O5438 3",
        "pattern": "iso6346",
        "matched": "true",
    }
    assert cv_reading(det, 1)["matched"] is False and cv_reading(det, 1)["rawText"] == "EXIT"
    texts = [i for i in lva_inferences(det, "text")["inferences"] if i["type"] == "text"]
    assert {t["extensions"]["matched"] for t in texts} == {"true", "false"}
    meta = metadata(frame, 0.0, "model", "all")
    assert meta["pattern"] == "iso6346" and meta["matched"] == "1,0"
    assert meta["rawtexts"] == "CSQU%203O5438%203,EXIT"
    line = describe(frame)
    assert "'CSQU3054383' 0.80 iso6346" in line and "'EXIT' 0.95 (no iso6346 match)" in line


def test_without_a_pattern_outputs_are_unchanged():
    det = Detections(np.zeros((1, 4, 2), np.float32), np.float32([0.9]), (10, 10))
    det = det.with_texts(("EXIT",), np.float32([0.9]))
    assert "pattern" not in det.to_dict() and det.pattern_fields(0) == {}
    assert set(reading_extensions(det, 0)) == {"text", "textConfidence"}


def test_joined_boxes_become_their_union():
    det = Detections(
        np.float32(
            [
                [[0, 0], [40, 0], [40, 10], [0, 10]],
                [[50, 1], [60, 1], [60, 11], [50, 11]],
                [[0, 30], [9, 30], [9, 39], [0, 39]],
            ]
        ),
        np.float32([0.9, 0.7, 0.5]),
        (40, 60),
    )
    joined = det.joined(((0, 1),))
    assert len(joined) == 2 and joined.scores[0] == pytest.approx(0.8)
    assert (
        joined.xyxy()[0].tolist() == [0, 0, 60, 11]
        and joined.boxes[1].tolist() == det.boxes[2].tolist()
    )


def test_one_event_per_container_even_when_frames_misread_it():
    tracker = TextTracker(max_gap=2)
    box = np.float32([[[0, 0], [100, 0], [100, 20], [0, 20]]])
    frames = [
        ("CSQU3054383", True),
        ("CSQU 305438", False),
        ("CSQU3054383", True),
        ("C5QU3054383", False),
    ]
    for index, (text, matched) in enumerate(frames):
        assert tracker.update(index, index / 10, box, [text], [0.9], [matched]) == []
    [appearance] = tracker.close()
    assert appearance.text == "CSQU3054383" and appearance.frames == 4


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"REC_PATTERN": "[A-Z"}, "invalid regular expression"),
        ({"REC_PATTERN": "iso6347"}, "unknown built-in pattern"),
        ({"REC_ALLOWED_CHARS": "z-a"}, "REC_ALLOWED_CHARS"),
    ],
)
def test_bad_settings_are_config_errors(variables, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load(RecognizerSettings, variables)


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"REC_PATTERN": "[αβ]+"}, "can match nothing"),
        ({"REC_PATTERN": "[A-Z]+", "REC_ALLOWED_CHARS": "0-9"}, "can match nothing"),
        ({"REC_ALLOWED_CHARS": "☃"}, "allows no character"),
        ({"REC_PATTERN": "[A-Z"}, "invalid regular expression"),
    ],
)
@pytest.mark.slow
def test_start_up_stops_with_one_line(python, variables, fragment):
    env = {**os.environ, **variables}
    done = subprocess.run(
        [python, "main.py", "--max-frames", "2"],
        cwd=MODULE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(errors) == 1 and fragment in errors[0]
    assert not [line for line in done.stdout.splitlines() if line.startswith("frame")]


@pytest.fixture(scope="module")
def default_detector():
    """The module's default detector (DET_MODEL's policy), as `run` opens it."""
    from textdetector.config import DetectorSettings, EngineSettings
    from textdetector.detector import TextDetector

    with TextDetector.open(EngineSettings(), DetectorSettings()) as det:
        yield det


@pytest.mark.slow
def test_a_boxed_check_digit_joins_its_code_unless_boxes_must_stay(default_detector, tmp_path):
    _, (second, image2) = rendered(make_container_set, tmp_path, 2)
    found, _ = default_detector.detect(image2)
    assert len(found) == 2  # the code and its boxed check digit: two boxes
    with TextRecognizer.open(RecognizerSettings(rec_pattern="iso6346")) as rec:
        (joined,), _ = read_regions(rec, [image2], [found])
        (kept,), _ = read_regions(rec, [image2], [found], join=False)
    assert joined.texts == (second["code"],) and bool(joined.matched[0])
    union = joined.xyxy()[0]
    assert union[0] <= found.xyxy()[:, 0].min() and union[2] >= found.xyxy()[:, 2].max()
    # boxes kept one for one (the code's box read extended along its line to its digit)
    assert len(kept) == 2 and kept.boxes[1].tolist() == found.boxes[1].tolist()


@pytest.mark.slow
def test_detect_command_reports_the_code_the_raw_reading_and_the_match(python, tmp_path):
    _, (record, _) = rendered(make_container_set, tmp_path, 2)
    image = tmp_path / make_container_set.SET_NAME / record["image"]
    done = subprocess.run(
        [python, "main.py", "detect", "--json", "--rec-pattern", "iso6346", str(image)],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["texts"] == [record["code"]] and result["matched"] == [True]
    assert (
        result["pattern"] == "iso6346"
        and result["raw_texts"][0].replace(" ", "")[:10] == (record["code"][:10])
    )
