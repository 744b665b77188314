"""`detect --annotate DIR`: one annotated image per input, through the real models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_cli import assert_one_line_error, run

from textdetector.commands.annotate import Annotator
from textdetector.errors import ConfigError

IMAGES = Path(__file__).resolve().parents[2] / "evaluation" / "real_scenes" / "images"


@pytest.mark.slow
def test_one_annotated_image_per_input_with_the_boxes_drawn(python, page_image_path, tmp_path):
    inputs = tmp_path / "in"
    (inputs / "more").mkdir(parents=True)
    shutil.copy(page_image_path, inputs / "page.png")
    shutil.copy(IMAGES / "scenetext04.jpg", inputs / "more" / "sign.jpg")
    shutil.copy(page_image_path, inputs / "more" / "page.png")  # the same name twice
    out = tmp_path / "out" / "annotated"
    done = run(python, "detect", str(inputs), "--annotate", str(out), "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    written = sorted(p.name for p in out.iterdir())
    assert written == ["page-2.png", "page.png", "sign.jpg"]
    assert sorted(Path(r["annotated"]).name for r in results) == written
    for result in results:
        source = cv2.imread(result["source"])
        drawn = cv2.imread(result["annotated"])
        assert drawn.shape == source.shape and result["count"] > 0
        x0, y0 = np.min(result["boxes"][0], axis=0).astype(int)
        x1, y1 = np.max(result["boxes"][0], axis=0).astype(int)
        edge = (slice(max(0, y0 - 1), y1 + 2), slice(max(0, x0 - 1), x1 + 2))
        changed = np.abs(drawn[edge].astype(int) - source[edge].astype(int)).max(axis=2) > 60
        assert changed.mean() > 0.05, result["source"]  # the box (and label) drawn
        assert (drawn.astype(int) - source.astype(int)).any()


def test_a_folder_that_cannot_be_made_fails_in_one_line(python, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    done = run(python, "detect", str(IMAGES / "scenetext_word01.jpg"), "--annotate", str(blocker))
    assert_one_line_error(done, 2, "cannot write annotated images")
    assert "engine" not in done.stderr


def test_the_input_folder_is_refused_as_the_output(tmp_path):
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    for given in (str(tmp_path), str(image)):
        with pytest.raises(ConfigError, match="would be overwritten"):
            Annotator.checked(str(tmp_path), [given])
    assert Annotator.checked(str(tmp_path / "out"), [str(image)]).folder.is_dir()


def test_detect_help_names_the_option(python):
    done = run(python, "detect", "--help")
    assert done.returncode == 0 and "--annotate DIR" in done.stdout
