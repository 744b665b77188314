"""The whole pipeline on the whole demo video, scored against its ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from recording_sink import RecordingSink

from textdetector.config import SourceSettings
from textdetector.geometry import box_iou as iou
from textdetector.pipeline import process
from textdetector.sources import open_source


@pytest.fixture(scope="module")
def demo_run(detector, demo_video):
    sink = RecordingSink()
    source = open_source(SourceSettings(camera_path=str(demo_video)))
    summary = process(detector, [source], [sink])
    return summary, sink.results


@pytest.mark.slow
def test_every_frame_processed_in_order(demo_run, demo_truth):
    summary, results = demo_run
    assert summary.frames == len(demo_truth) == len(results)
    assert summary.dropped == 0
    assert [r.index for r in results] == list(range(len(demo_truth)))
    assert all(r.image is not None and r.image.shape == (720, 1280, 3) for r in results)


@pytest.mark.slow
def test_recall_and_false_boxes_against_ground_truth(demo_run, demo_truth):
    _, results = demo_run
    matched = missed = false_boxes = 0
    for result, truth in zip(results, demo_truth):
        boxes = result.detections.xyxy().tolist()
        used = set()
        for line in truth["lines"]:
            scores = [(iou(line["box"], box), j) for j, box in enumerate(boxes)]
            best = max(scores, default=(0.0, -1))
            if best[0] >= 0.5:
                matched += 1
                used.add(best[1])
            else:
                missed += 1
        false_boxes += len(boxes) - len(used)
    recall = matched / (matched + missed)
    print(
        f"recall {recall:.3f} ({matched}/{matched + missed}), false boxes {false_boxes} "
        f"in {len(results)} frames"
    )
    assert recall >= 0.95
    precision = matched / (matched + false_boxes)
    assert precision >= 0.9  # few false boxes


@pytest.mark.slow
def test_frames_without_text_stay_empty(demo_run, demo_truth):
    _, results = demo_run
    empty = [r for r, t in zip(results, demo_truth) if not t["lines"]]
    assert len(empty) >= 15
    counts = np.array([len(r.detections) for r in empty])
    assert (counts == 0).mean() >= 0.9
