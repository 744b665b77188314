"""Frame sources and the threaded reader, on real video files."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from textdetector.config import SourceSettings
from textdetector.errors import SourceError
from textdetector.sources import (
    CaptureSource,
    Frame,
    FrameReader,
    SourceSpec,
    classify,
    open_source,
)
from textdetector.sources.capture import gstreamer_available


@pytest.mark.parametrize(
    "value, kind, target",
    [
        ("0", "camera", 0),
        ("2", "camera", 2),
        ("/dev/video1", "camera", "/dev/video1"),
        ("rtsp://10.0.0.2:554/stream", "stream", "rtsp://10.0.0.2:554/stream"),
        ("http://cam/video.mjpg", "stream", "http://cam/video.mjpg"),
        ("tcp://127.0.0.1:5000", "stream", "tcp://127.0.0.1:5000"),
        (
            "v4l2src device=/dev/video0 ! videoconvert ! appsink",
            "gstreamer",
            "v4l2src device=/dev/video0 ! videoconvert ! appsink",
        ),
        ("local_data/demo_video.mp4", "file", "local_data/demo_video.mp4"),
    ],
)
def test_classify(value, kind, target):
    spec = classify(value)
    assert (spec.kind, spec.target) == (kind, target)
    assert spec.live == (kind != "file")


def read_all(source) -> list[Frame]:
    frames = []
    with FrameReader(source, queue_size=2) as reader:
        frames.extend(reader)
    return frames


def test_file_source_reads_every_frame_in_order(small_video):
    source = open_source(SourceSettings(camera_path=str(small_video)))
    frames = read_all(source)
    assert [f.index for f in frames] == list(range(20))
    assert frames[0].image.shape == (240, 320, 3)
    assert frames[1].timestamp == pytest.approx(0.1, abs=1e-3)


def test_loop_restarts_the_file(small_video):
    source = open_source(SourceSettings(camera_path=str(small_video), loop=True))
    frames = [source.read() for _ in range(45)]
    source.close()
    assert [f.index for f in frames] == list(range(45))
    assert frames[25].timestamp > frames[19].timestamp  # time keeps increasing
    np.testing.assert_array_equal(frames[20].image, frames[0].image)


def write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.mp4", "video file not found"),
        (lambda p: p, "is a folder"),
        (lambda p: write(p / "empty.mp4", b""), "empty (0 bytes)"),
        (lambda p: write(p / "text.mp4", b"hello " * 500), "cannot decode video file"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, make, message):
    with pytest.raises(SourceError, match=re.escape(message)):
        open_source(SourceSettings(camera_path=str(make(tmp_path))))


def test_truncated_video_reads_what_it_can_or_says_why(tmp_path, small_video):
    data = small_video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    try:
        source = open_source(SourceSettings(camera_path=str(cut)))
    except SourceError as exc:
        assert "cut.mp4" in str(exc)
        return
    with FrameReader(source) as reader:
        try:
            count = sum(1 for _ in reader)
        except SourceError as exc:
            assert "cut.mp4" in str(exc)
            return
    assert count < 20


def test_unplugged_camera_device():
    with pytest.raises(SourceError, match="/dev/video9 not found"):
        open_source(SourceSettings(camera_path="/dev/video9"))


def test_camera_index_without_camera():
    with pytest.raises(SourceError, match="cannot open camera 7"):
        open_source(SourceSettings(camera_path="7"))


def test_unreachable_stream_fails_within_timeout():
    start = time.monotonic()
    with pytest.raises(SourceError, match="cannot open stream"):
        open_source(SourceSettings(camera_path="tcp://127.0.0.1:9", source_timeout=2))
    assert time.monotonic() - start < 30


def test_gstreamer_pipeline_without_gstreamer_says_so():
    if gstreamer_available():
        pytest.skip("this OpenCV build has GStreamer")
    with pytest.raises(SourceError, match="no GStreamer support"):
        open_source(SourceSettings(camera_path="videotestsrc ! videoconvert ! appsink"))


class ScriptedLiveSource:
    """A test double standing in for a camera (none exists here): yields numbered frames
    as fast as asked, optionally stalling or failing after `limit` frames."""

    source_id = "scripted"
    live = True

    def __init__(self, limit: int, then: str = "end") -> None:
        self.limit, self.then, self.count = limit, then, 0
        self.release = threading.Event()

    def open(self) -> None:
        pass

    def read(self):
        if self.count >= self.limit:
            if self.then == "stall":
                self.release.wait(10)
                return None
            if self.then == "fail":
                raise RuntimeError("device vanished")
            return None
        self.count += 1
        return Frame(self.count - 1, float(self.count), np.zeros((2, 2, 3), np.uint8))

    def close(self) -> None:
        self.release.set()


def test_live_source_drops_oldest_when_consumer_is_slow():
    source = ScriptedLiveSource(limit=50)
    with FrameReader(source, queue_size=3) as reader:
        time.sleep(0.3)  # let the reader run ahead of us
        frames = list(reader)
    assert reader.dropped >= 40
    assert [f.index for f in frames] == sorted(f.index for f in frames)
    assert frames[-1].index == 49  # the newest frames survive


@pytest.mark.slow
def test_stalled_source_raises_instead_of_hanging():
    source = ScriptedLiveSource(limit=2, then="stall")
    with pytest.raises(SourceError, match="stalled"):
        with FrameReader(source, timeout_s=0.5) as reader:
            list(reader)


def test_reader_failure_becomes_source_error():
    source = ScriptedLiveSource(limit=1, then="fail")
    with pytest.raises(SourceError, match="device vanished"):
        with FrameReader(source) as reader:
            list(reader)


def test_read_before_open_is_an_error():
    with pytest.raises(SourceError):
        CaptureSource(SourceSpec("file", "x.mp4")).read()


def test_reader_prepares_file_frames_on_its_thread(small_video):
    seen_threads = set()

    def prepare(image):
        seen_threads.add(threading.current_thread().name)
        return image.shape

    source = open_source(SourceSettings(camera_path=str(small_video)))
    with FrameReader(source, prepare=prepare) as reader:
        frames = list(reader)
    assert all(f.prepared == (240, 320, 3) for f in frames)
    assert seen_threads == {"frame-reader"}


def test_reader_does_not_prepare_live_frames():
    with FrameReader(ScriptedLiveSource(limit=3), prepare=lambda image: "done") as reader:
        assert [f.prepared for f in reader] == [None, None, None]
