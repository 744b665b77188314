"""SAVE_VIDEO: the video sink on real frames and files (OpenCV writes, OpenCV reads back),
its frame rate, names and checks, and the command line's one-line refusals."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_cli import assert_one_line_error, run

from textdetector.config import OutputSettings, load
from textdetector.errors import ConfigError
from textdetector.results import Detections, FrameResult
from textdetector.sinks.video import DEFAULT_FPS, VideoSink, check_writable, frame_rate, video_paths


def _frame(index: int, fps: float, source: str = "cam", reused: bool = False) -> FrameResult:
    image = np.full((120, 160, 3), 30, np.uint8)
    boxes = np.array([[[20, 40], [140, 40], [140, 80], [20, 80]]], np.float32)
    detections = Detections(boxes, np.array([0.9], np.float32), (120, 160))
    return FrameResult(index, index / fps, source, detections, image=image, reused=reused)


def _read_back(path) -> tuple[int, float, list[np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    fps, frames = capture.get(cv2.CAP_PROP_FPS), []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return len(frames), fps, frames


def test_every_frame_is_written_annotated_at_the_source_rate(tmp_path):
    out = tmp_path / "out.mp4"
    with VideoSink(str(out), ["cam"]) as sink:
        for i in range(12):
            sink.write(_frame(i, 12.5, reused=i % 3 == 2))
    count, fps, frames = _read_back(out)
    assert count == 12 and fps == pytest.approx(12.5)
    box_edge = frames[0][78:83, 60:100].astype(int)  # the box's bottom edge, drawn
    assert (box_edge[:, :, 1] - box_edge[:, :, 0] > 80).any()
    corner = frames[2][4:18, 120:156].astype(int)  # a reused frame's mark (yellow)
    assert (corner[:, :, 2] > 180).mean() > 0.3 and (corner[:, :, 0] < 80).mean() > 0.3


def test_a_short_run_still_writes_its_frames(tmp_path):
    """Fewer frames than the rate needs: written at the rate two frames give; one frame
    at the default rate."""
    for n, expected_fps in ((3, 30.0), (1, DEFAULT_FPS)):
        out = tmp_path / f"short{n}.mp4"
        with VideoSink(str(out), ["cam"]) as sink:
            for i in range(n):
                sink.write(_frame(i, 30.0))
        count, fps, _ = _read_back(out)
        assert count == n and fps == pytest.approx(expected_fps)


def test_several_sources_write_one_file_each(tmp_path):
    out = tmp_path / "multi.mp4"
    with VideoSink(str(out), ["a", "b"]) as sink:
        for i in range(10):
            sink.write(_frame(i, 10.0, "b"))
            if i % 2 == 0:
                sink.write(_frame(i // 2, 5.0, "a"))
    assert not out.exists()
    assert _read_back(tmp_path / "multi-0.mp4")[:2] == (5, pytest.approx(5.0))
    assert _read_back(tmp_path / "multi-1.mp4")[:2] == (10, pytest.approx(10.0))


def test_a_source_that_changes_size_keeps_the_first_size(tmp_path):
    out = tmp_path / "resized.mp4"
    with VideoSink(str(out), ["cam"]) as sink:
        for i in range(10):
            result = _frame(i, 10.0)
            if i >= 5:
                big = cv2.resize(result.image, (320, 240))
                result = FrameResult(i, i / 10.0, "cam", result.detections, image=big)
            sink.write(result)
    count, _, frames = _read_back(out)
    assert count == 10 and all(frame.shape == (120, 160, 3) for frame in frames)


def test_frame_rate_from_timestamps():
    assert frame_rate([i / 29.97 for i in range(8)]) == 29.97  # a file's own rate
    assert frame_rate([0.0, 0.5, 1.0, 1.5]) == 2.0  # a camera whose frames were dropped
    assert frame_rate([1.0, 1.0]) == DEFAULT_FPS
    assert frame_rate([0.0, 10.0]) == 1.0  # clamped
    assert frame_rate([]) == DEFAULT_FPS


def test_names_and_checks(tmp_path):
    assert [p.name for p in video_paths("run/out.mp4", 1)] == ["out.mp4"]
    assert [p.name for p in video_paths("run/out.mp4", 3)] == [
        "out-0.mp4",
        "out-1.mp4",
        "out-2.mp4",
    ]
    made = tmp_path / "new" / "folder" / "v.mp4"
    check_writable([made])
    assert made.parent.is_dir() and not made.exists()  # the probe is removed
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write SAVE_VIDEO"):
        check_writable([blocker / "v.mp4"])
    with pytest.raises(ConfigError, match="is a folder"):
        check_writable([tmp_path])


@pytest.mark.parametrize(
    "value, message",
    [("out.gif", "ending in .mp4, .mkv or .avi"), (".", "expected")],
)
def test_save_video_setting_refuses_bad_names(value, message):
    with pytest.raises(ConfigError, match=message):
        load(OutputSettings, {"SAVE_VIDEO": value})
    assert load(OutputSettings, {"SAVE_VIDEO": " v.MP4 "}).save_video == "v.MP4"
    assert load(OutputSettings, {}).save_video == ""


@pytest.mark.slow
def test_an_unwritable_video_path_fails_in_one_line_before_the_models_load(python, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    done = run(python, "--save-video", str(blocker / "out.mp4"), "--max-frames", "2")
    assert_one_line_error(done, 2, "cannot write SAVE_VIDEO")
    assert "engine" not in done.stderr  # refused before the models load
    done = run(python, "--max-frames", "2", env={"SAVE_VIDEO": str(tmp_path)})
    assert_one_line_error(done, 2, "SAVE_VIDEO")


def test_help_names_the_setting(python):
    done = run(python, "--help")
    assert (
        done.returncode == 0 and "--save-video FILE" in done.stdout and "SAVE_VIDEO" in done.stdout
    )
