"""The hand-drawn detection boxes of the real-scene set (tools/make_real_det_set.py): tune
photos only, inside their images, grown to the detector's box convention."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tools import eval_real, make_real_det_set


def test_drawn_boxes_are_on_tune_photos_and_inside_them() -> None:
    drawn = make_real_det_set.hand_boxes()
    splits = {item.name: item for item in eval_real.load_set()}
    assert drawn and all(splits[name].split == "tune" for name in drawn)
    for name, boxes in drawn.items():
        height, width = cv2.imread(str(splits[name].path)).shape[:2]
        for text, quad in boxes:
            assert text.strip() and quad.shape == (4, 2)
            assert (quad >= -2).all() and (quad[:, 0] <= width + 2).all()
            assert (quad[:, 1] <= height + 2).all(), (name, text)


def test_an_ink_rectangle_grows_to_the_detectors_box() -> None:
    """0.4 letter heights above and below, 0.27 before and after; turned with the text."""
    quad = make_real_det_set.grown(100, 50, 40, 10, 0)
    np.testing.assert_allclose(quad, [[77.3, 41], [122.7, 41], [122.7, 59], [77.3, 59]])
    upright = make_real_det_set.grown(100, 50, 40, 10, 90)  # text running top to bottom
    np.testing.assert_allclose(upright[0], [109, 27.3], atol=1e-4)
    sides = np.linalg.norm(np.diff(upright, axis=0, append=upright[:1]), axis=1)
    np.testing.assert_allclose(sides, [45.4, 18, 45.4, 18], atol=1e-4)


@pytest.mark.slow
def test_the_folder_marks_what_the_module_finds_as_do_not_care(tmp_path) -> None:
    """One tape-measure photo through the module's `detect` path (the real models): its
    drawn digit is text, and every box the module reads there is "###"."""
    count, drawn, ignored = make_real_det_set.build(
        tmp_path / "set", ["gcompris_measuringTape5.webp"]
    )
    assert (count, drawn) == (1, 1) and ignored >= 1
    path, entries = (tmp_path / "set" / "det_labels.txt").read_text().strip().split("\t")
    assert (tmp_path / "set" / path).is_file()
    regions = json.loads(entries)
    assert [r["transcription"] for r in regions].count("###") == ignored
    assert [r["transcription"] for r in regions if r["transcription"] != "###"] == ["1"]
