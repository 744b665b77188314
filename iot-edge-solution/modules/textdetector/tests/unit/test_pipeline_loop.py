"""The one run loop: N = 1 and N > 1 sources, fairness, order, batching, live changes."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from recording_sink import RecordingSink

from textdetector.config import OutputSettings, Settings, SourceSettings
from textdetector.errors import SourceError
from textdetector.pipeline import LoopOptions, process, run
from textdetector.sources import SelfHealingSource, open_sources, source_paths


def write_video(path: Path, frames: int, size=(320, 240)) -> Path:
    """A real mp4v video with text on every frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 200, np.uint8)
        cv2.putText(
            image,
            f"stream {path.stem} {i}",
            (10, size[1] // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8,
            (0, 0, 0),
            2,
        )
        writer.write(image)
    writer.release()
    return path


class BatchSpy:
    """The real detector, recording the image shapes of every batch submitted."""

    def __init__(self, detector):
        self.detector = detector
        self.batches = []

    def input_size(self, size):
        return self.detector.input_size(size)

    def prepare(self, image):
        return self.detector.prepare(image)

    def submit(self, images, prepared=None, input_size=None):
        self.batches.append([image.shape for image in images])
        assert prepared is not None and all(p is not None for p in prepared)
        return self.detector.submit(images, prepared, input_size)


def sources_for(paths, queue_size=4):
    return open_sources(
        SourceSettings(camera_path="|".join(str(p) for p in paths), queue_size=queue_size)
    )


@pytest.mark.slow
def test_fair_ordered_and_batched(detector, tmp_path):
    paths = [write_video(tmp_path / f"s{i}.mp4", 16) for i in range(3)]
    spy, sink = BatchSpy(detector), RecordingSink()
    summary = process(spy, sources_for(paths), [sink], options=LoopOptions(max_batch=4))
    ids = [f"{p}" for p in paths]
    assert summary.per_source == {i: 16 for i in ids} and summary.frames == 48
    for source_id in ids:  # each source's frames in order, none lost
        assert [i for s, i in sink.seen if s == source_id] == list(range(16))
    counts = dict.fromkeys(ids, 0)
    for source_id, _ in sink.seen:  # no stream runs ahead of another while all are active
        counts[source_id] += 1
        assert max(counts.values()) - min(counts.values()) <= 4
    assert max(summary.batch_sizes) > 1
    assert sum(size * n for size, n in summary.batch_sizes.items()) == 48
    assert all(len(b) <= 4 for b in spy.batches)


@pytest.mark.slow
def test_mixed_shapes_split_into_separate_batches(detector, tmp_path):
    small = [write_video(tmp_path / f"small{i}.mp4", 8, (320, 240)) for i in range(2)]
    large = [write_video(tmp_path / f"large{i}.mp4", 8, (640, 480)) for i in range(2)]
    spy = BatchSpy(detector)
    summary = process(
        spy, sources_for(small + large), [RecordingSink()], options=LoopOptions(max_batch=8)
    )
    assert summary.frames == 32
    for shapes in spy.batches:
        assert len(set(shapes)) == 1
    assert max(len(b) for b in spy.batches) == 2  # two streams of each shape per round


@pytest.mark.slow
def test_max_batch_caps_batch_size(detector, tmp_path):
    paths = [write_video(tmp_path / f"s{i}.mp4", 6) for i in range(5)]
    spy = BatchSpy(detector)
    summary = process(spy, sources_for(paths), [RecordingSink()], options=LoopOptions(max_batch=2))
    assert summary.frames == 30 and set(summary.batch_sizes) <= {1, 2}
    assert 2 in summary.batch_sizes


def test_end_of_one_file_does_not_end_the_others(detector, tmp_path):
    short = write_video(tmp_path / "short.mp4", 3)
    long = write_video(tmp_path / "long.mp4", 15)
    summary = process(detector, sources_for([short, long]), [RecordingSink()])
    assert summary.per_source == {str(short): 3, str(long): 15}


def test_max_frames_caps_the_total(detector, tmp_path):
    paths = [write_video(tmp_path / f"s{i}.mp4", 10) for i in range(3)]
    summary = process(
        detector, sources_for(paths), [RecordingSink()], options=LoopOptions(max_frames=7)
    )
    assert summary.frames == 7 and sum(summary.per_source.values()) == 7


class StalledSource:
    """Stand-in for a live stream that stops delivering (no real stalled camera here)."""

    source_id = "stalled"
    live = True
    close_from_any_thread = True  # close() sets the event read() waits on: stop is prompt

    def __init__(self):
        self.closed = threading.Event()

    def open(self):
        return None

    def read(self):
        self.closed.wait(5.0)
        return None

    def close(self):
        self.closed.set()


def test_stalled_stream_is_dropped_others_finish(detector, tmp_path):
    path = write_video(tmp_path / "ok.mp4", 6)
    sources = [StalledSource(), *sources_for([path])]
    summary = process(detector, sources, [RecordingSink()], options=LoopOptions(timeout_s=0.5))
    assert summary.per_source == {"stalled": 0, str(path): 6}
    assert "stalled" in summary.failed["stalled"]


def test_all_streams_failing_raises(detector):
    with pytest.raises(SourceError, match="stalled"):
        process(
            detector,
            [StalledSource(), StalledSource()],
            [RecordingSink()],
            options=LoopOptions(timeout_s=0.3),
        )


class HealingSource(StalledSource):
    """A reconnecting live source (a `SelfHealingSource`) down for a while, then closed."""

    source_id = "healing"
    self_healing = True

    def read(self):
        self.closed.wait(1.0)
        return None


@pytest.mark.slow
def test_a_self_healing_source_is_left_to_its_own_watchdog(detector):
    assert isinstance(HealingSource(), SelfHealingSource)
    assert not isinstance(StalledSource(), SelfHealingSource)
    summary = process(
        detector, [HealingSource()], [RecordingSink()], options=LoopOptions(timeout_s=0.3)
    )
    assert summary.failed == {} and summary.per_source == {"healing": 0}


def test_everything_after_the_sinks_is_keyword_only(detector):
    with pytest.raises(TypeError):
        process(detector, [], [RecordingSink()], LoopOptions())  # type: ignore[misc]  # on purpose


def test_source_paths_and_unique_ids(tmp_path):
    path = write_video(tmp_path / "a.mp4", 2)
    assert source_paths(f" {path} | 0 |") == [str(path), "0"]
    sources = open_sources(SourceSettings(camera_path=f"{path}|{path}"))
    assert [s.source_id for s in sources] == [str(path), f"{path}#2"]
    for source in sources:
        source.close()


def test_open_sources_reports_the_bad_one(tmp_path):
    path = write_video(tmp_path / "a.mp4", 2)
    with pytest.raises(SourceError, match="missing.mp4"):
        open_sources(SourceSettings(camera_path=f"{path}|{tmp_path / 'missing.mp4'}"))


@pytest.mark.slow
def test_pipeline_run_dispatches_several_sources(model_path, tmp_path):
    paths = [write_video(tmp_path / f"s{i}.mp4", 5) for i in range(2)]
    settings = Settings(
        source=SourceSettings(camera_path="|".join(map(str, paths))),
        output=OutputSettings(quiet=True),
    )
    summary = run(settings)
    assert summary.frames == 10 and not summary.stopped


@pytest.mark.slow
def test_detect_batch_uses_prepared_blobs(detector, demo_frames):
    images = list(demo_frames.values())[:2]
    plain = detector.detect_batch(images)
    ready = detector.detect_batch(images, [detector.prepare(images[0]), None])
    for (a, _), (b, _) in zip(plain, ready):
        np.testing.assert_array_equal(a.boxes, b.boxes)
    stale = detector.prepare(cv2.resize(images[0], (320, 180)))  # another input size
    ((det, _),) = detector.detect_batch(images[:1], [stale])
    np.testing.assert_array_equal(det.boxes, plain[0][0].boxes)


class LiveChanger:
    """A sink that asks for live changes after `after` results (as the twin would)."""

    def __init__(self, live, after, values):
        self.live, self.after, self.values, self.seen = live, after, values, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def write(self, result):
        self.seen += 1
        if self.seen == self.after:
            self.live.update(self.values)


@pytest.mark.parametrize("count", [1, 3])
def test_live_changes_take_the_same_path_for_one_or_many(detector, tmp_path, count):
    """Detection settings and CAMERA_PATH change between rounds, for N = 1 and N = 3."""
    from textdetector.control.live import LiveSettings

    paths = [write_video(tmp_path / f"a{i}.mp4", 6) for i in range(count)]
    other = write_video(tmp_path / "other.mp4", 4)
    settings = Settings(source=SourceSettings(camera_path="|".join(map(str, paths))))
    live = LiveSettings(settings)
    sink = RecordingSink()
    changer = LiveChanger(live, count, {"limitSideLen": 320, "cameraPath": str(other)})
    before = detector.settings
    try:
        summary = process(detector, sources_for(paths), [sink, changer], live=live)
        assert detector.settings.limit_side_len == 320
    finally:
        detector.reconfigure(before)  # the detector fixture is shared by the session
    assert summary.per_source[str(other)] == 4  # switched to the new source, read to its end
    before = sum(summary.per_source[str(p)] for p in paths)
    assert count <= before < 6 * count  # the old sources were left mid-way
    assert live.rejected == {}


def test_live_source_that_cannot_open_is_rejected_and_the_run_goes_on(detector, tmp_path):
    from textdetector.control.live import LiveSettings

    paths = [write_video(tmp_path / f"b{i}.mp4", 5) for i in range(2)]
    live = LiveSettings(Settings(source=SourceSettings(camera_path=str(paths[0]))))
    changer = LiveChanger(live, 1, {"cameraPath": str(tmp_path / "missing.mp4")})
    summary = process(detector, sources_for(paths), [changer], live=live)
    assert summary.per_source == {str(p): 5 for p in paths}
    assert "not found" in live.rejected["cameraPath"]


class EventLog(RecordingSink):
    """A real sink that also logs, with a BatchSpy, when batches go in and results out."""

    def __init__(self):
        super().__init__()
        self.events = []

    def write(self, result):
        super().write(result)
        self.events.append(("write", result.index))


class LoggingSpy(BatchSpy):
    def __init__(self, detector, log):
        super().__init__(detector)
        self.log, self.count = log, 0

    def submit(self, images, prepared=None, input_size=None):
        self.log.events.append(("submit", self.count))
        self.count += len(images)
        return self.detector.submit(images, prepared, input_size)


class PacedSource:
    """A real file source that delivers a frame every `gap_s`, like a slow live camera."""

    def __init__(self, source, gap_s):
        self.source, self.gap_s = source, gap_s
        self.source_id, self.live = source.source_id, True

    def open(self):
        self.source.open()

    def read(self):
        threading.Event().wait(self.gap_s)
        return self.source.read()

    def close(self):
        self.source.close()


def test_a_batch_infers_while_the_one_before_is_written(detector, tmp_path):
    """With frames queued, frame i + 1 goes to the engine before frame i reaches the sinks."""
    if not hasattr(detector.engine, "start"):
        pytest.skip(f"{detector.engine.name} has no asynchronous requests")
    log = EventLog()
    summary = process(
        LoggingSpy(detector, log),
        sources_for([write_video(tmp_path / "a.mp4", 24)], queue_size=24),
        [log],
    )
    assert summary.frames == 24 and [i for _, i in log.seen] == list(range(24))
    order = {event: n for n, event in enumerate(log.events)}
    overlapped = sum(order[("submit", i + 1)] < order[("write", i)] for i in range(23))
    assert overlapped >= 12, log.events


@pytest.mark.slow
def test_a_result_is_not_held_back_waiting_for_the_next_frame(detector, tmp_path):
    """A slow live source: every result is written before the next frame arrives."""
    log = EventLog()
    [source] = sources_for([write_video(tmp_path / "slow.mp4", 5)])
    summary = process(LoggingSpy(detector, log), [PacedSource(source, 0.3)], [log])
    assert summary.frames == 5
    order = {event: n for n, event in enumerate(log.events)}
    assert all(order[("write", i)] < order[("submit", i + 1)] for i in range(4)), log.events


@pytest.mark.slow
def test_a_file_has_the_text_of_several_frames_read_together(detector, recognizer, demo_video):
    """REC_FRAMES: the same strings, in fewer recognition calls, when frames are read ahead.

    Each line is padded to its own width (REC_PADDING=line, the default), so its reading
    does not depend on which frames' lines share its batch. (The shared fixture pads a
    batch to its widest line, as PaddleOCR does: there another batch mix flips a
    borderline space, `EDGE VISION AI` / `EDGEVISION AI`, and how often depended on what
    ran before in the same process.)
    """
    from dataclasses import replace

    from textdetector.recognizer import TextRecognizer

    settings = replace(recognizer.settings, rec_padding="line")
    reader = TextRecognizer(recognizer.engine, recognizer.classifier, settings)

    def run_with(read_ahead):
        sink, calls = RecordingSink(), reader.calls
        summary = process(
            detector,
            sources_for([demo_video]),
            [sink],
            options=LoopOptions(max_frames=26, read_ahead=read_ahead),
            recognizer=reader,
        )
        assert summary.frames == 26
        return [t for r in sink.results for t in r.detections.texts], reader.calls - calls

    one_by_one, single_calls = run_with(1)
    together, batched_calls = run_with(4)
    assert len(together) == len(one_by_one) > 20
    assert together == one_by_one
    assert batched_calls < single_calls, (batched_calls, single_calls)


@pytest.mark.slow
def test_run_detects_video_frames_under_the_frame_cap(tmp_path, monkeypatch):
    """`run` opens its detector for frames: a 720p video goes to the model at 960 x 544
    (DET_FRAME_MAX_SIDE_LEN), not at the 1312 x 736 a 720p still gets."""
    from textdetector.detector import TextDetector

    opened = []
    original = TextDetector.open.__func__

    def spy(cls, *args, **kwargs):
        detector = original(cls, *args, **kwargs)
        opened.append(detector)
        return detector

    monkeypatch.setattr(TextDetector, "open", classmethod(spy))
    path = write_video(tmp_path / "hd.mp4", 3, size=(1280, 720))
    summary = run(
        Settings(source=SourceSettings(camera_path=str(path)), output=OutputSettings(quiet=True))
    )
    assert summary.frames == 3
    (detector,) = opened
    assert detector.frames and detector.input_size((720, 1280)) == (544, 960)
    assert detector.settings.policy(detector.model_path).input_size(720, 1280) == (736, 1312)


def test_a_frames_detector_keeps_its_cap_across_live_changes(detector):
    from textdetector.config import DetectorSettings
    from textdetector.detector import TextDetector

    settings = DetectorSettings(frame_max_side_len=640)
    frames = TextDetector(detector.engine, settings, detector.model_path, frames=True)
    assert frames.input_size((720, 1280)) == (352, 640)
    frames.reconfigure(dataclasses.replace(settings, box_thresh=0.5))  # a twin update
    assert frames.input_size((720, 1280)) == (352, 640) and frames.policy.box_thresh == 0.5
    stills = TextDetector(detector.engine, settings, detector.model_path)
    assert stills.input_size((720, 1280)) != (352, 640)
