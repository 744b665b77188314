"""Live sources reconnect with backoff against real stream servers that crash and come
back; a read that never returns is abandoned without leaking threads."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from stream_servers import StreamServer, serve

from textdetector.config import SourceSettings
from textdetector.errors import SourceError
from textdetector.sources import Frame, classify
from textdetector.sources.health import CONNECTED, DOWN, RECONNECTING, HealthRegistry
from textdetector.sources.reconnect import (
    MAX_STUCK,
    ReconnectingSource,
    ReconnectPolicy,
    backoff_delays,
    reconnecting,
)

FAST = dict(reconnect_delay=0.3, reconnect_max_delay=1.5, source_timeout=3.0)


@pytest.mark.parametrize("rand", [lambda: 0.0, lambda: 0.999, __import__("random").random])
def test_backoff_grows_with_jitter_within_bounds(rand):
    delays = [d for _, d in zip(range(12), backoff_delays(1.0, 30.0, rand))]
    assert all(1.0 <= d <= 30.0 for d in delays)
    assert delays[0] == 1.0
    growing = delays[:6]  # 1, 2, 4, 8, 16, then capped near 30
    assert growing == sorted(growing) and len(set(growing)) == len(growing)
    assert all(22.5 <= d for d in delays[5:])


class Collector:
    """Reads a source on a thread, recording each frame and its arrival time."""

    def __init__(self, source) -> None:
        self.source, self.frames, self.arrivals = source, [], []
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (frame := self.source.read()) is not None:
                self.frames.append(frame)
                self.arrivals.append(time.monotonic())
        except SourceError as exc:
            self.error = exc

    def wait_frames(self, count: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.frames) >= count

    def stop(self) -> None:
        self.source.close()
        self.thread.join(5)


def start_reconnecting(url: str, health: HealthRegistry, **settings):
    source = reconnecting(classify(url), SourceSettings(camera_path=url, **settings), health)
    source.open()
    return source


@pytest.fixture(params=["mjpeg", "mpegts"])
def server(request):
    yield from serve(request.param)


def test_stream_killed_for_5_s_resumes(server: StreamServer):
    health = HealthRegistry()
    events: list[dict] = []
    health.add_listener(events.append)
    reader = Collector(start_reconnecting(server.url, health, **FAST))
    try:
        assert reader.wait_frames(5, 15), "no frames before the outage"
        server.kill()
        time.sleep(5)
        before, restarted = len(reader.frames), time.monotonic()
        server.start()
        assert reader.wait_frames(before + 5, 10), "frames did not resume within 10 s"
        assert reader.arrivals[before] - restarted < 10
    finally:
        reader.stop()
    assert reader.error is None
    states = [e["state"] for e in events]
    assert states[:2] == [CONNECTED, RECONNECTING] and states[-1] == CONNECTED
    assert set(states[2:-1]) <= {DOWN}  # down once the backoff reached its longest wait
    indices = [f.index for f in reader.frames]
    assert indices == list(range(len(indices)))
    stamps = [f.timestamp for f in reader.frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    snap = health.snapshot()[server.url]
    assert snap["state"] == CONNECTED and snap["reconnects"] >= 1
    assert snap["frames_read"] == len(reader.frames)


def test_stream_that_never_returns_gives_up_with_growing_delays(refused):
    health = HealthRegistry()
    url = f"tcp://127.0.0.1:{refused}"  # nobody listens
    source = start_reconnecting(
        url,
        health,
        reconnect_delay=0.1,
        reconnect_max_delay=1.0,
        reconnect_attempts=4,
        source_timeout=2.0,
    )
    started = time.monotonic()
    with pytest.raises(SourceError, match="gave up after 4 reconnect attempts"):
        while source.read() is not None:
            pass
    assert time.monotonic() - started < 15
    assert source.delays_waited == sorted(source.delays_waited)
    assert len(set(source.delays_waited)) == len(source.delays_waited) == 4
    snap = health.snapshot()[url]
    assert snap["state"] == DOWN and snap["reconnects"] == 4 and health.all_down()
    assert "cannot open stream" in snap["last_error"]


def test_close_interrupts_a_source_waiting_to_reconnect(refused):
    health = HealthRegistry()
    source = start_reconnecting(
        f"tcp://127.0.0.1:{refused}", health, reconnect_delay=30.0, source_timeout=2.0
    )
    reader = Collector(source)
    time.sleep(0.5)
    started = time.monotonic()
    reader.stop()
    assert not reader.thread.is_alive() and time.monotonic() - started < 3
    assert reader.error is None and reader.frames == []


class BlockingCapture:
    """A test double for a capture whose read never returns (a dead peer FFmpeg does not
    notice; no real server can be made to hang OpenCV on purpose): it blocks until
    `release` is set."""

    live = True
    source_id = "blocking"

    def __init__(self, release: threading.Event, frames: int = 0) -> None:
        self.release, self.frames = release, frames

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        if self.frames > 0:
            self.frames -= 1
            return Frame(0, 0.0, np.zeros((2, 2, 3), np.uint8))
        self.release.wait()
        return None

    def close(self) -> None:
        pass


def test_watchdog_abandons_stuck_reads_without_leaking_threads():
    release = threading.Event()
    health = HealthRegistry()
    policy = ReconnectPolicy(delay_s=0.001, max_delay_s=0.002, watchdog_s=0.02)
    made: list[BlockingCapture] = []

    def factory() -> BlockingCapture:
        made.append(BlockingCapture(release, frames=1))
        return made[-1]

    source = ReconnectingSource(factory, "blocking", policy, health)
    baseline = threading.active_count()
    source.open()
    reader = Collector(source)
    try:
        deadline = time.monotonic() + 20
        while health.snapshot()["blocking"]["reconnects"] < 100:
            assert time.monotonic() < deadline, "100 reconnects took too long"
            assert threading.active_count() <= baseline + 1 + MAX_STUCK + 1
            assert source.stuck_threads <= MAX_STUCK
            time.sleep(0.005)
    finally:
        reader.stop()
        release.set()
    assert len(made) == MAX_STUCK  # no new capture while MAX_STUCK reads hang
    assert [f.index for f in reader.frames] == list(range(MAX_STUCK))
    assert health.state("blocking") == DOWN  # the backoff reached its longest wait
    time.sleep(0.3)
    assert threading.active_count() <= baseline


def test_stuck_reads_that_return_are_reconnected_each_time():
    """Reads that block only a while: every capture's thread ends, frames keep coming."""
    release = threading.Event()
    release.set()  # reads return at once with end of stream: reconnect each time
    health = HealthRegistry()
    source = ReconnectingSource(
        lambda: BlockingCapture(release, frames=2),
        "flaky",
        ReconnectPolicy(delay_s=0.001, max_delay_s=0.002),
        health,
    )
    source.open()
    frames = [source.read() for _ in range(40)]
    source.close()
    assert [f.index for f in frames] == list(range(40))
    assert health.snapshot()["flaky"]["reconnects"] >= 19


def test_bad_sources_give_one_readable_line(tmp_path):
    """In a fresh process (OpenCV's log level is read when cv2 loads): no FFmpeg chatter."""
    text_mkv = tmp_path / "notes.mkv"
    text_mkv.write_text("not a video at all\n" * 200)
    script = (
        "import sys; from textdetector.config import SourceSettings; "
        "from textdetector.sources import open_source; from textdetector.errors "
        "import SourceError\ntry: open_source(SourceSettings(camera_path=sys.argv[1]))\n"
        "except SourceError as e: print(e); sys.exit(e.exit_code)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(text_mkv)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        cwd=str(__import__("pathlib").Path(__file__).parents[2]),
    )
    assert run.returncode == 4
    assert (
        run.stdout.strip() == f"cannot decode video file {text_mkv}: not a video, or an "
        "unsupported codec"
    )
    assert run.stderr == ""


def test_http_404_says_so():
    with serve_one("mjpeg") as camera:
        url = camera.url.replace("/cam", "/wrong")
        with pytest.raises(SourceError, match="answers HTTP 404"):
            reconnecting(
                classify(url), SourceSettings(camera_path=url), HealthRegistry()
            ).factory().open()


def test_rtsp_wrong_path_fails_fast_with_one_line():
    with serve_one("rtsp") as camera:
        url = camera.url.replace("/cam", "/wrong")
        started = time.monotonic()
        with pytest.raises(
            SourceError, match="cannot open stream .*/wrong: connection refused, wrong path"
        ):
            reconnecting(
                classify(url), SourceSettings(camera_path=url), HealthRegistry()
            ).factory().open()
        assert time.monotonic() - started < 5


def test_missing_camera_index_is_fatal_at_once():
    health = HealthRegistry()
    source = start_reconnecting("7", health)
    with pytest.raises(SourceError, match="cannot open camera 7"):
        source.read()
    assert health.state("7") == DOWN


def serve_one(kind: str):
    import contextlib

    return contextlib.contextmanager(serve)(kind)


def test_health_reports_changes_once_and_survives_a_broken_listener():
    health = HealthRegistry(clock=iter(range(100)).__next__)
    heard: list[dict] = []
    health.add_listener(lambda event: 1 / 0)
    health.add_listener(heard.append)
    health.register("a", live=True)
    health.register("b", live=True)
    health.set_state("a", CONNECTED)
    health.set_state("a", CONNECTED)
    health.set_state("a", DOWN, "gave up")
    health.set_state("b", DOWN)
    assert [(e["source"], e["previous"], e["state"]) for e in heard] == [
        ("a", RECONNECTING, CONNECTED),
        ("a", CONNECTED, DOWN),
        ("b", RECONNECTING, DOWN),
    ]
    assert health.all_down()
    assert health.snapshot()["a"] == {
        "source_id": "a",
        "live": True,
        "state": DOWN,
        "since": 3,
        "reconnects": 0,
        "frames_read": 0,
        "frames_dropped": 0,
        "last_error": "gave up",
        "skipped": {},
    }
    with pytest.raises(ValueError):
        health.set_state("a", "sleeping")


def test_close_between_taking_a_frame_and_delivering_it_still_delivers(monkeypatch):
    """Regression: close() on another thread reset the capture after read() had taken a
    frame from it, and delivering that frame failed an assertion on the capture thread
    (seen on a broker restart). The interleaving is forced here by closing from inside
    the delivery step, the exact point the other thread reached."""
    release = threading.Event()
    source = ReconnectingSource(
        lambda: BlockingCapture(release, frames=1),
        "closing",
        ReconnectPolicy(delay_s=0.001, max_delay_s=0.002),
        HealthRegistry(),
    )
    source.open()
    connected = ReconnectingSource._connected

    def close_then_connect(self: ReconnectingSource) -> None:
        self.close()
        connected(self)

    monkeypatch.setattr(ReconnectingSource, "_connected", close_then_connect)
    try:
        frame = source.read()
    finally:
        release.set()
    assert frame is not None and frame.index == 0
    assert source.read() is None  # closed: the next read ends at once
