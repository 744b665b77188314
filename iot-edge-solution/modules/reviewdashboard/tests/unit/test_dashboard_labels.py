"""Label validation, the sidecar format, the train/val split and the line crops."""

from __future__ import annotations

import json
from collections import Counter

import cv2
import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from reviewdashboard.crops import crop_quad
from reviewdashboard.export import assign_splits, bucket, crop_id
from reviewdashboard.labels import (
    MAX_BODY,
    MAX_TEXT,
    LabelError,
    LabelInput,
    Sidecar,
    make_label,
    parse_request,
    parse_sidecar,
)

BOX = [10, 20, 110, 20, 110, 50, 10, 50]


@pytest.mark.parametrize(
    "body, wanted",
    [
        (b"index=0&action=confirm&text=GATE+7", LabelInput(0, "confirm", "GATE 7")),
        (b"index=2&action=ignore&text=x", LabelInput(2, "ignore", "")),
        (b"index=1&action=confirm&text=%E5%87%BA%E5%8F%A3", LabelInput(1, "confirm", "出口")),
        (b"index=1&action=confirm&text=+A+", LabelInput(1, "confirm", "A")),
    ],
)
def test_valid_label_bodies(body, wanted):
    assert parse_request(body, 3) == wanted


@pytest.mark.parametrize(
    "body, message",
    [
        (b"index=3&action=confirm&text=A", "out of range: the frame has 3 lines"),
        (b"index=-1&action=confirm&text=A", "is not a line number"),
        (b"index=%D9%A1&action=confirm&text=A", "is not a line number"),  # Arabic-Indic 1
        (b"index=0&action=delete&text=A", "is not one of confirm, ignore"),
        (b"index=0&action=confirm&text=", "text is empty"),
        (b"index=0&action=confirm&text=+++", "text is empty"),
        (b"index=0&action=confirm&text=A%09B", "control character (U+0009)"),
        (b"index=0&action=confirm&text=A%0AB", "control character (U+000A)"),
        (b"index=0&action=confirm&text=A%E2%80%A8", "control character (U+2028)"),
        (b"index=0&action=confirm&text=" + b"A" * (MAX_TEXT + 1), f"at most {MAX_TEXT}"),
        (b"index=0&action=confirm&text=%FF", "not percent-encoded UTF-8"),
        (b"\xff", "not UTF-8"),
        (b"index=0&index=1&action=confirm&text=A", "too many form fields"),
        (b"index=0&index=1", "given twice"),
        (b"index=0&action=confirm&token=x", "unknown field 'token'"),
        (b"x" * (MAX_BODY + 1), f"over {MAX_BODY} bytes"),
    ],
)
def test_refused_label_bodies_say_why_in_one_line(body, message):
    with pytest.raises(LabelError) as caught:
        parse_request(body, 3)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_statuses_follow_the_reading():
    assert make_label(LabelInput(0, "confirm", "GATE 7"), BOX, "GATE 1", "r").status == (
        "corrected"
    )
    assert make_label(LabelInput(0, "confirm", "GATE 1"), BOX, " GATE 1", "r").status == (
        "confirmed"
    )
    ignored = make_label(LabelInput(0, "ignore", ""), BOX, "GATE 1", "r")
    assert (ignored.status, ignored.label) == ("ignored", "")
    assert ignored.polygon == [[10, 20], [110, 20], [110, 50], [10, 50]]


def test_sidecar_round_trip_and_format():
    at = "2026-01-02T03:04:05Z"
    sidecar = Sidecar("lowconf", "1_a.jpg")
    sidecar = sidecar.with_line(make_label(LabelInput(2, "ignore", ""), BOX, "X", "r", at))
    sidecar = sidecar.with_line(make_label(LabelInput(0, "confirm", "出口"), BOX, "Y", "r", at))
    sidecar = sidecar.with_line(make_label(LabelInput(0, "confirm", "Y"), BOX, "Y", "r", at))
    doc = json.loads(sidecar.to_json())
    assert doc == {
        "version": 1,
        "container": "lowconf",
        "blob": "1_a.jpg",
        "lines": [
            {
                "index": 0,
                "polygon": [[10, 20], [110, 20], [110, 50], [10, 50]],
                "read_text": "Y",
                "label": "Y",
                "status": "confirmed",
                "by": "r",
                "at": at,
            },
            {
                "index": 2,
                "polygon": [[10, 20], [110, 20], [110, 50], [10, 50]],
                "read_text": "X",
                "label": "",
                "status": "ignored",
                "by": "r",
                "at": at,
            },
        ],
    }
    assert parse_sidecar(sidecar.to_json(), "lowconf", "1_a.jpg") == sidecar


@pytest.mark.parametrize(
    "data, message",
    [
        (b"{", "not UTF-8 JSON"),
        (b'{"version": 2, "lines": []}', "not a version 1 label file"),
        (b'{"version": 1, "lines": {}}', "'lines' is not a list"),
        (b'{"version": 1, "lines": [{"index": 0}]}', "lacks or mistypes a field"),
        (
            b'{"version": 1, "lines": [{"index": 0, "polygon": [[0,0],[1,0],[1,1],[0,1]], '
            b'"read_text": "", "label": "", "status": "corrected", "by": "", "at": ""}]}',
            "corrected with an empty label",
        ),
        (
            b'{"version": 1, "lines": [{"index": 0, "polygon": [[0,0],[1,0],[1,1]], '
            b'"read_text": "", "label": "A", "status": "confirmed", "by": "", "at": ""}]}',
            "needs 4 points",
        ),
    ],
)
def test_malformed_sidecars_are_refused(data, message):
    with pytest.raises(LabelError, match=message):
        parse_sidecar(data, "c", "1_a.jpg")


def test_split_is_stable_and_near_the_share():
    keys = [("lowconf", f"{i:013d}_cam_{i}.jpg", j) for i in range(500) for j in range(4)]
    splits = assign_splits(keys, 10)
    share = Counter(splits.values())["val"] / len(keys)
    assert 0.08 < share < 0.12
    # a line keeps its split when others are added or removed (hash of its own key)
    assert assign_splits(keys[:700], 10) == {k: splits[k] for k in keys[:700]}
    assert bucket("lowconf", "a.jpg", 0) == bucket("lowconf", "a.jpg", 0)
    assert bucket("lowconf", "a.jpg", 0) != bucket("lowconf", "a.jpg", 1)


def test_a_small_set_still_has_both_splits():
    keys = [("c", "1_a.jpg", 0), ("c", "1_a.jpg", 1)]
    assert sorted(assign_splits(keys, 10).values()) == ["train", "val"]
    assert sorted(assign_splits(keys, 0.0).values()) == ["train", "val"]
    alone = "val" if bucket(*keys[0]) < 1000 else "train"
    assert assign_splits(keys[:1], 10) == {keys[0]: alone}  # one line: its hash decides
    assert crop_id("lowconf", "0000000000001_cam_1.jpg", 7) == "lowconf_0000000000001_cam_1_007"


def _scene() -> np.ndarray:
    image = np.full((240, 320, 3), 235, np.uint8)
    cv2.putText(image, "TEXT 7", (20, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (10, 40, 90), 3)
    return cv2.GaussianBlur(image, (3, 3), 0)


@pytest.mark.parametrize(
    "quad",
    [
        [[15, 45], [230, 45], [230, 105], [15, 105]],  # upright rectangle
        [[18, 40], [235, 52], [228, 110], [12, 98]],  # tilted, in perspective
        [[100, 20], [140, 20], [140, 200], [100, 200]],  # tall: turned
    ],
)
def test_crops_match_the_recogniser_crops(quad):
    """The Pillow warp gives the textdetector's own (OpenCV) crop, within a grey level."""
    from textdetector.recognizer.crop import crop_quad as recogniser_crop

    scene = _scene()
    expected = recogniser_crop(scene, np.array(quad, np.float32))[:, :, ::-1]
    got = np.asarray(crop_quad(Image.fromarray(scene[:, :, ::-1].copy()), quad))
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected.astype(int)).mean() < 1.0


@pytest.mark.parametrize(
    "quad", [[[0, 0], [0, 0], [0, 0], [0, 0]], [[0, 0], [50, 0], [50, 0], [0, 0]], [[0, 0]] * 3]
)
def test_degenerate_polygons_give_no_crop(quad):
    assert crop_quad(Image.new("RGB", (64, 64)), quad) is None


@fuzz(500)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.tuples(
                st.sampled_from(["index", "action", "text", "x", ""]),
                st.text(max_size=30),
            ),
            max_size=5,
        ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "replace")),
    ),
    st.integers(0, 5),
)
def test_fuzz_label_post_bodies(body, lines):
    """Any POST body is a valid label for an existing line or one LabelError line; never
    another exception, never a text that would break the label files."""
    try:
        wanted = parse_request(body, lines)
    except LabelError as exc:
        assert "\n" not in str(exc)
        return
    assert 0 <= wanted.index < lines and wanted.action in ("confirm", "ignore")
    assert len(wanted.text) <= MAX_TEXT and wanted.text == wanted.text.strip()
    assert not any(c in wanted.text for c in "\t\n\r\x00\u2028")
    assert wanted.action == "ignore" or wanted.text
