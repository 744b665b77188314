"""Archive routing table, naming, drawing and settings (pure functions, no storage)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from textdetector.config import RUN_GROUPS, ArchiveSettings, add_arguments, load
from textdetector.drawing import annotate
from textdetector.errors import ConfigError
from textdetector.results import Detections, FrameResult
from textdetector.sinks.archive.encoding import encode_jpeg
from textdetector.sinks.archive.naming import MAX_BOXES, archived_time, blob_name, metadata
from textdetector.sinks.archive.routing import Route, route

CONFIDENT, UNCERTAIN_MIN = 0.8, 0.6


def seed_route(scores: np.ndarray, t: float = CONFIDENT) -> str:
    """The seed's routing, verbatim in spirit: booleans compared with a threshold.

    Its model emitted a fixed number of score slots padded with zeros, so `all()` was
    False (0 < t) for nearly every frame and everything went to "lowconf".
    """
    if scores.all() < t:
        return "lowconf"
    if scores.any() > t:
        return "annotated"
    return "none"


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([], Route.NONE),  # nothing found: not archived
        ([0.95, 0.91, 0.88], Route.ANNOTATED),  # confident
        ([0.8], Route.ANNOTATED),  # exactly the confident threshold
        ([0.7, 0.65], Route.LOWCONF),  # uncertain
        ([0.6], Route.LOWCONF),  # exactly the band's lower edge
        ([0.97, 0.99, 0.62], Route.LOWCONF),  # mixed: one uncertain region makes it a candidate
        ([0.4, 0.55], Route.NONE),  # below the band only
        ([0.92, 0.3], Route.ANNOTATED),  # confident plus below-band noise
    ],
)
def test_routing_table(scores, expected):
    assert route(np.array(scores, np.float32), CONFIDENT, UNCERTAIN_MIN) is expected


def test_seed_failure_case_is_fixed():
    padded = np.array([0.97, 0.95, 0.0, 0.0, 0.0], np.float32)  # two confident + empty slots
    assert seed_route(padded) == "lowconf"  # the seed's defect, reproduced
    detections = padded[padded > 0]
    assert route(detections, CONFIDENT, UNCERTAIN_MIN) is Route.ANNOTATED
    # The seed's answer does not depend on the values at all; ours does.
    assert seed_route(np.array([0.99])) == seed_route(np.array([0.61]))
    assert route(np.array([0.99]), CONFIDENT, UNCERTAIN_MIN) is Route.ANNOTATED
    assert route(np.array([0.61]), CONFIDENT, UNCERTAIN_MIN) is Route.LOWCONF


def _result(n: int = 2, index: int = 7, source: str = "local_data/démo video.mp4"):
    image = np.full((120, 200, 3), 255, np.uint8)
    boxes = np.array([[[10, 10], [90, 10], [90, 40], [10, 40]]] * n, np.float32)
    boxes[:, :, 1] += np.arange(n, dtype=np.float32)[:, None] * 0.5
    scores = np.linspace(0.9, 0.7, n).astype(np.float32)
    return FrameResult(index, 1.25, source, Detections(boxes, scores, (120, 200)), image=image)


def test_blob_names_sort_newest_first_and_decode_their_time():
    older = blob_name(_result(), 1_700_000_000.000)
    newer = blob_name(_result(), 1_700_000_000.001)
    assert newer < older
    assert newer.endswith("_d-mo-video.mp4_00000007.jpg")
    assert archived_time(newer).timestamp() == pytest.approx(1_700_000_000.001)
    assert archived_time("foreign.jpg") is None


def test_metadata_is_ascii_and_complete():
    meta = metadata(_result(3), 1_700_000_000.5, "model.onnx", "lowconf")
    assert set(meta) >= {"timestamp", "source", "count", "scores", "model", "boxes"}
    assert meta["timestamp"] == "2023-11-14T22:13:20.500Z"
    assert meta["count"] == "3" and meta["scores"] == "0.900,0.800,0.700"
    assert meta["boxes"].split(";")[0] == "10,10,90,10,90,40,10,40"
    assert all(v.isascii() for v in meta.values())


def test_metadata_caps_boxes_under_the_service_limit():
    meta = metadata(_result(MAX_BOXES + 50), 0.0, "m", "annotated")
    assert meta["count"] == str(MAX_BOXES + 50) and meta["truncated"] == "true"
    assert len(meta["boxes"].split(";")) == MAX_BOXES
    assert sum(len(k) + len(v) for k, v in meta.items()) < 8192


def test_annotate_marks_the_box_and_leaves_the_frame_alone():
    result = _result(1)
    drawn = annotate(result.image, result.detections)
    assert (result.image == 255).all()  # the pipeline's frame is not modified
    assert tuple(drawn[25, 90]) != (255, 255, 255)  # right edge of the box
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(drawn, 90), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == drawn.shape


def test_encode_rejects_an_impossible_image():
    with pytest.raises((ValueError, cv2.error)):
        encode_jpeg(np.zeros((0, 0, 3), np.uint8), 80)


def test_settings_from_environment():
    s = load(
        ArchiveSettings,
        {
            "ARCHIVE_CONNECTION_STRING": "AccountName=a;AccountKey=k",
            "ARCHIVE_CONFIDENT_THRESHOLD": "0.9",
            "ARCHIVE_INTERVAL": "0",
            "ARCHIVE_LOWCONF_CONTAINER": "retrain-1",
        },
    )
    assert s.enabled and s.archive_confident_threshold == 0.9 and s.archive_interval == 0
    assert s.archive_lowconf_container == "retrain-1"
    assert "AccountKey" not in repr(s)
    assert not load(ArchiveSettings, {}).enabled


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ARCHIVE_UNCERTAIN_MIN": "0.9", "ARCHIVE_CONFIDENT_THRESHOLD": "0.8"}, "must not exceed"),
        ({"ARCHIVE_LOWCONF_CONTAINER": "Bad_Name"}, "ARCHIVE_LOWCONF_CONTAINER"),
        ({"ARCHIVE_LOWCONF_CONTAINER": "annotated"}, "must differ"),
        ({"ARCHIVE_JPEG_QUALITY": "0"}, "ARCHIVE_JPEG_QUALITY"),
    ],
)
def test_invalid_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        load(ArchiveSettings, env)


def test_connection_string_has_no_command_line_flag():
    import argparse

    parser = argparse.ArgumentParser()
    for cls, title in RUN_GROUPS.values():
        add_arguments(parser, cls, title)  # also proves no flag clashes with other groups
    flags = parser.format_help()
    assert "--archive-interval" in flags and "--connection-string" not in flags
