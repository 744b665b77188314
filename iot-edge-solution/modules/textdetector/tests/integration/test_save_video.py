"""SAVE_VIDEO end to end: the module on the demo video writes a video ffprobe opens, with
as many frames as the run processed (reused frames included)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from testing.components import need

FRAMES = 10
MODULE_DIR = Path(__file__).resolve().parents[2]


def run(python: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The module's command line, as a user runs it, in the module folder."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")} | env
    return subprocess.run(
        [python, "main.py", *args],
        cwd=MODULE_DIR, env=full_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def ffprobe_frames(path) -> dict:
    done = subprocess.run(
        [
            "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,width,height,r_frame_rate,nb_read_frames",
            "-of", "json", str(path),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)["streams"][0]


@pytest.mark.slow
def test_the_annotated_video_has_a_frame_per_processed_frame(python, demo_video, tmp_path):
    need(shutil.which("ffprobe") is not None, "ffprobe missing (Debian ffmpeg)")
    out = tmp_path / "videos" / "demo annotated.mp4"
    done = run(python, "--quiet", "--save-video", str(out), env={"MAX_FRAMES": str(FRAMES)})
    assert done.returncode == 0, done.stderr
    processed = int(re.search(r"done: (\d+) frames", done.stdout + done.stderr).group(1))
    assert processed == FRAMES
    assert "frames_reused" in done.stderr  # temporal reuse on: reused frames are in the video
    stream = ffprobe_frames(out)
    assert int(stream["nb_read_frames"]) == processed
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("mpeg4", 1280, 720)
    source = ffprobe_frames(demo_video)
    assert stream["r_frame_rate"] == source["r_frame_rate"]
