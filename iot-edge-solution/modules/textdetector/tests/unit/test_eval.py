"""Evaluation tools: matching and scoring rules, the rendered set, a short real run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tools import eval as evaluation
from tools import make_eval_set


def sample(truth, boxes) -> evaluation.Sample:
    return evaluation.Sample(
        "t", np.zeros((1, 1, 3), np.uint8), truth, np.array(boxes, np.float32).reshape(-1, 4, 2)
    )


def quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_match_needs_half_overlap_and_pairs_once():
    truth = [(0, 0, 100, 20), (0, 100, 100, 120)]
    found = np.array([quad(0, 0, 100, 20), quad(2, 0, 102, 20), quad(0, 110, 100, 130)], np.float32)
    assert evaluation.match(truth, found) == {0: 0}  # IoU of the third box is 1/3


def test_line_scores():
    s = sample(
        [("EXIT 7", (0, 0, 100, 20)), ("Gate B", (0, 50, 100, 70)), ("lost", (300, 300, 400, 320))],
        [quad(0, 0, 100, 20), quad(0, 50, 100, 70), quad(500, 0, 600, 20)],
    )
    scores = evaluation.line_scores([s], [("EXIT 7", "GateB", "noise")])
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["exact_lines"] == pytest.approx(1 / 3)
    assert scores["exact_lines_ignoring_spaces"] == pytest.approx(2 / 3)
    # one missing space + four unread characters over 16 truth characters
    assert scores["cer"] == pytest.approx(5 / 16)


def test_parity_counts_identical_strings():
    assert evaluation.parity([("a", "b"), ("c",)], [("a", "x"), ("c",)]) == pytest.approx(2 / 3)


def test_eval_set_is_deterministic(tmp_path):
    first = make_eval_set.render(tmp_path / "a", count=2)
    second = make_eval_set.render(tmp_path / "b", count=2)
    assert first.read_bytes() == second.read_bytes()
    assert (first.parent / "001.jpg").read_bytes() == (second.parent / "001.jpg").read_bytes()
    records = [json.loads(line) for line in first.read_text().splitlines()]
    assert len(records) == 2 and all(2 <= len(r["lines"]) <= 4 for r in records)
    for line in records[0]["lines"]:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 < x1 <= make_eval_set.WIDTH and 0 <= y0 < y1 <= make_eval_set.HEIGHT
        assert len(line["quad"]) == 4 and line["text"].strip()


@pytest.mark.slow
def test_short_real_run(demo_video, rec_model_path, tmp_path, capsys, monkeypatch):
    """The recognition modes on the PaddleOCR-exact PP-OCRv4 pipeline (DET_MODEL=ppocrv4),
    whose boxes the demo truth matches at IoU >= 0.5 line for line; batches padded as
    RapidOCR pads them (REC_PADDING=batch), short readings kept as it keeps them
    (REC_MIN_SCORE_SHORT=0) and words as read (REC_ACCENTS=off, REC_SPELLING=off: it
    would read `Senial` as `Serial`), so plain decoding matches it string for string."""
    monkeypatch.setenv("DET_MODEL", "ppocrv4")
    monkeypatch.setenv("REC_PADDING", "batch")
    monkeypatch.setenv("REC_MIN_SCORE_SHORT", "0")
    monkeypatch.setenv("REC_ACCENTS", "off")
    monkeypatch.setenv("REC_SPELLING", "off")
    out = tmp_path / "eval.json"
    assert (
        evaluation.main(
            [
                "--sets",
                "demo_video",
                "--step",
                "60",
                "--cls",
                "off",
                "--model-set",
                "ppocrv4",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    sets = json.loads(out.read_text())["demo_video"]
    plain, spaced = sets["ppocrv4+cls_off+spaces_off"], sets["ppocrv4+cls_off+spaces_auto"]
    assert plain["lines"] >= 6 and plain["recall"] == 1.0
    assert plain["parity_with_rapidocr"] >= 0.98
    assert plain["exact_lines_ignoring_spaces"] >= 0.8
    # recovered spaces: more exact lines, fewer character errors, same letters as RapidOCR
    assert spaced["exact_lines"] > plain["exact_lines"] and spaced["cer"] < plain["cer"]
    assert spaced["parity_with_rapidocr_ignoring_spaces"] >= 0.98
    printed = capsys.readouterr().out
    assert "target >= 0.950" in printed and "lines identical to RapidOCR" in printed
    assert "REC_SPACES=auto, REC_PADDING=batch, REC_MIN_SCORE_SHORT=0.0" in printed
    assert "MET" in printed or "MISSED" in printed


def test_verdict_reads_the_direction_from_the_label():
    assert evaluation.verdict("exact line accuracy", 0.96, 0.95).endswith("MET")
    assert evaluation.verdict("character error rate", 0.03, 0.02).endswith("MISSED")
    assert "<= 0.020" in evaluation.verdict("character error rate", 0.01, 0.02)
    assert evaluation.verdict("detection recall", 0.5, None) == ""


def test_unknown_set_is_refused(capsys):
    with pytest.raises(SystemExit):
        evaluation.main(["--sets", "nope", "--no-parity"])
    assert "unknown set" in capsys.readouterr().err
