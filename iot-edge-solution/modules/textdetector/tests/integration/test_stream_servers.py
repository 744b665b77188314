"""The real stream servers the reconnect tests use: each serves decodable frames through
OpenCV's FFmpeg backend, and comes back on the same address after a crash."""

from __future__ import annotations

import sys
import time

import cv2
import pytest
from ports import steady_port
from stream_servers import (
    StreamServer,
    listening,
    live_stream,  # noqa: F401  (fixture)
    mjpeg_server,
)

TIMEOUT_MS = 5000


def read_frames(url: str, count: int) -> list:
    """Open `url` with FFmpeg and open/read timeouts; the first `count` frames."""
    capture = cv2.VideoCapture(
        url,
        cv2.CAP_FFMPEG,
        [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, TIMEOUT_MS],
    )
    frames = []
    try:
        while capture.isOpened() and len(frames) < count:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
    finally:
        capture.release()
    return frames


def read_frames_within(url: str, count: int, seconds: float = 30.0) -> list:
    """`read_frames` again until `count` frames come or `seconds` pass: a (re)started
    server's first client pipeline (GStreamer's RTSP server decodes and encodes per
    client) can take longer than one open timeout beside busy test processes."""
    deadline = time.monotonic() + seconds
    while True:
        frames = read_frames(url, count)
        if len(frames) == count or time.monotonic() > deadline:
            return frames
        time.sleep(0.2)


def test_server_serves_frames(live_stream: StreamServer):  # noqa: F811
    frames = read_frames_within(live_stream.url, 20)
    assert len(frames) == 20, live_stream.log_tail()
    assert frames[0].shape[1] == 320 and frames[0].shape[2] == 3
    assert frames[-1].std() > 5  # real picture, not a blank frame


def test_killed_server_restarts_on_the_same_address(live_stream: StreamServer):  # noqa: F811
    assert len(read_frames_within(live_stream.url, 3)) == 3, live_stream.log_tail()
    port = live_stream.port
    live_stream.kill()
    assert not listening(port)
    assert read_frames(live_stream.url, 1) == []
    live_stream.start()
    assert live_stream.port == port
    assert len(read_frames_within(live_stream.url, 3)) == 3, live_stream.log_tail()


def test_tcp_stream_accepts_one_client_after_another(tcp_stream_server):
    """ffmpeg's listen mode serves one client and exits; the harness starts it again."""
    for _ in range(3):
        tcp_stream_server.wait_listening(10)
        assert len(read_frames(tcp_stream_server.url, 2)) == 2


def test_mjpeg_camera_serves_several_clients_and_404s_other_paths():
    camera = mjpeg_server().start()
    try:
        first = cv2.VideoCapture(camera.url, cv2.CAP_FFMPEG)
        assert len(read_frames(camera.url, 2)) == 2  # a second client meanwhile
        assert first.read()[0]
        first.release()
        started = time.monotonic()
        assert read_frames(camera.url.replace("/cam", "/nope"), 1) == []
        assert time.monotonic() - started < 5
    finally:
        camera.close()


@pytest.fixture
def tcp_stream_server():
    from stream_servers import serve

    yield from serve("mpegts")


def test_a_chatty_server_never_blocks_on_its_stderr():
    """A server writing far more than a pipe holds (64 KiB) before it listens still starts:
    its stderr goes to a log file, whose end `log_tail` gives."""
    port = steady_port()
    script = (
        "import socket, sys, time\n"
        "sys.stderr.write('warning: noisy line\\n' * 20000); sys.stderr.flush()\n"
        f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)\n"
    )
    server = StreamServer("chatty", f"tcp://127.0.0.1:{port}", port, [sys.executable, "-c", script])
    try:
        server.start(timeout_s=20)
        assert server.alive
        assert server.log_tail().rstrip().endswith("warning: noisy line")
    finally:
        server.close()
    assert not server.log.exists()
