"""The detection labels train-det reads (PaddleOCR's det_labels.txt), the DB shrink maps
and training views, and the DetEval matching the gate counts with (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from textdetector.training.dataset import DatasetError
from textdetector.training.det_dataset import (
    DetSample,
    parse_det_line,
    read_det_dataset,
)
from textdetector.training.det_score import score_image
from textdetector.training.det_targets import shrink_maps, training_view

BOX = [[10, 10], [110, 10], [110, 30], [10, 30]]


def labels(root: Path, rows: dict[str, list[dict]]) -> Path:
    folder = root / "detection"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for name, regions in rows.items():
        cv2.imwrite(str(folder / "images" / name), np.full((64, 128, 3), 200, np.uint8))
        lines.append(f"images/{name}\t{json.dumps(regions)}")
    (folder / "det_labels.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_line_gives_the_image_its_polygons_and_the_do_not_care_ones(tmp_path: Path) -> None:
    line = "images/a.jpg\t" + json.dumps(
        [{"transcription": "PUMP 4", "points": BOX}, {"transcription": "###", "points": BOX}]
    )
    sample = parse_det_line(line, tmp_path, "det_labels.txt line 1")
    assert sample.path == tmp_path / "images" / "a.jpg"
    assert sample.ignore == (False, True)
    assert len(sample.text_regions) == 1 and sample.polygons[0].shape == (4, 2)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("images/a.jpg [] no tab", "expected <image path><TAB>"),
        ("images/a.jpg\t[{", "not JSON"),
        ("images/a.jpg\t{}", "must be a JSON list"),
        ("images/a.jpg\t[{\"transcription\": \"A\"}]", "needs 'points'"),
        ("images/a.jpg\t[{\"transcription\": \"A\", \"points\": [[1, 2], [3, 4]]}]", "at least 3"),
        ("images/a.jpg\t[{\"transcription\": \"A\", \"points\": [[1, \"x\"]]}]", "pairs"),
        (
            "images/a.jpg\t[{\"transcription\": \"A\", \"points\": [[1e999, 0], [1, 1], [2, 2]]}]",
            "finite",
        ),
        (  # regression (fuzz): a float32 overflow warned before it was refused
            "images/a.jpg\t[{\"transcription\": \"A\", \"points\": [[1e300, 0], [1, 1], [2, 2]]}]",
            "pixel coordinates",
        ),
        ("../a.jpg\t[]", "relative inside the dataset"),
    ],
)
def test_a_malformed_line_is_one_readable_error(tmp_path: Path, line: str, says: str) -> None:
    with pytest.raises(DatasetError, match="line 7") as raised:
        parse_det_line(line, tmp_path, "det_labels.txt line 7")
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_both_splits_hold_an_image_and_the_split_is_fixed_per_image(tmp_path: Path) -> None:
    region = [{"transcription": "A", "points": BOX}]
    root = labels(tmp_path, {f"{i:03d}.jpg": region for i in range(12)})
    train, val = read_det_dataset(root)
    assert train and val and len(train) + len(val) == 12
    again = read_det_dataset(root)
    assert [s.path for s in again[1]] == [s.path for s in val]


def test_images_without_text_do_not_count_and_two_are_needed(tmp_path: Path) -> None:
    root = labels(tmp_path, {"a.jpg": [{"transcription": "A", "points": BOX}], "b.jpg": []})
    with pytest.raises(DatasetError, match="at least 2 images"):
        read_det_dataset(root)
    with pytest.raises(DatasetError, match="no detection/det_labels.txt"):
        read_det_dataset(tmp_path / "elsewhere")


def test_shrink_maps_mark_the_text_core_and_leave_out_what_cannot_be_taught() -> None:
    text_box = np.array(BOX, np.float32)
    thin = np.array([[10, 40], [110, 40], [110, 41], [10, 41]], np.float32)
    cared = np.array([[10, 50], [60, 50], [60, 62], [10, 62]], np.float32)
    text, mask = shrink_maps([text_box, thin, cared], [False, False, True], (64, 128))
    assert text[20, 60] == 1 and text[11, 60] == 0  # the core, not the edge
    assert mask[40, 60] == 0 and mask[55, 30] == 0 and mask[5, 5] == 1
    assert text[40:42].sum() == 0 and text[50:63].sum() == 0


def test_a_training_view_keeps_its_polygons_on_the_text() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    box = np.array([[600, 300], [700, 300], [700, 330], [600, 330]], np.float32)
    cv2.fillPoly(image, [box.astype(np.int32)], (255, 255, 255))
    rng = np.random.default_rng(3)
    for _ in range(10):
        view, (moved,) = training_view(image, [box], 320, 736, rng, 0.0)
        assert view.shape == (320, 320, 3)
        inside = [p for p in [moved.mean(axis=0)] if 0 <= p[0] < 320 and 0 <= p[1] < 320]
        for x, y in inside:
            assert view[int(y), int(x)].mean() > 200


def square(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def test_matching_counts_a_box_a_little_wider_but_not_one_box_for_two_lines() -> None:
    sample = DetSample(
        Path("a.jpg"),
        tuple(
            np.array(p, np.float32)
            for p in (square(0, 0, 100, 20), square(0, 40, 100, 20), square(200, 0, 50, 50))
        ),
        (False, False, True),
    )
    wider = np.array([square(-3, -3, 106, 26)], np.float32)
    assert score_image(wider, sample).matched == 1
    both = np.array([square(0, 0, 100, 60)], np.float32)  # one box over both lines
    assert score_image(both, sample).matched == 0
    on_ignored = np.array([square(200, 0, 50, 50)], np.float32)
    assert score_image(on_ignored, sample).found == 0
    score = score_image(
        np.array([square(0, 0, 100, 20), square(500, 500, 9, 9)], np.float32), sample
    )
    assert (score.labelled, score.found, score.matched) == (2, 2, 1)
    assert score.recall == 0.5 and score.precision == 0.5 and score.f1 == 0.5
