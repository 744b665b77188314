"""The live preview without the models: who may watch, the hub's newest-only, on-demand
encoding, and the routes on a real health server fed synthetic results."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from mjpeg_client import read_parts, stream

from textdetector.config import PreviewSettings, load
from textdetector.errors import ConfigError
from textdetector.pipeline.health_http import HealthServer
from textdetector.preview import Preview, PreviewAccess, PreviewHub
from textdetector.preview.hub import draw
from textdetector.results import Detections, FrameResult
from textdetector.sources.health import HealthRegistry

TOKEN = "preview-token-0123456789"


def result(index: int, source: str = "cam <1>") -> FrameResult:
    image = np.full((120, 160, 3), index % 256, np.uint8)
    boxes = np.array([[[10, 40], [120, 40], [120, 80], [10, 80]]], np.float32)
    det = Detections(boxes, np.array([0.9], np.float32), (120, 160)).with_texts(
        ("AB12",), np.array([0.95], np.float32)
    )
    return FrameResult(index, float(index), source, det, image=image)


class Counting:
    """The real drawing, counted."""

    def __init__(self) -> None:
        self.drawn: list[int] = []

    def __call__(self, r: FrameResult) -> np.ndarray:
        self.drawn.append(r.index)
        return draw(r)


def test_settings_and_the_token_is_a_secret():
    s = load(PreviewSettings, {"PREVIEW_FPS": "2", "PREVIEW_TOKEN": TOKEN})
    assert (s.preview, s.preview_fps, s.preview_max_clients) == (True, 2.0, 4)
    assert TOKEN not in repr(s)
    for env in ({"PREVIEW_FPS": "0"}, {"PREVIEW_MAX_CLIENTS": "0"}, {"PREVIEW_TOKEN": "short"}):
        with pytest.raises(ConfigError):
            load(PreviewSettings, env)


def test_access_follows_the_dashboard_rules():
    on = PreviewSettings()
    local = PreviewAccess.from_settings(on, "127.0.0.1")
    assert local.enabled and local.refusal("127.0.0.1:8081", "", "") is None
    assert local.refusal("localhost", "", "") is None
    assert local.refusal("evil.example:8081", "", "").status == 403  # DNS rebinding
    wide = PreviewAccess.from_settings(on, "0.0.0.0")
    assert not wide.enabled and wide.refusal("cam", "", "").status == 404
    assert "PREVIEW_TOKEN is not set" in wide.off_reason
    off = PreviewAccess.from_settings(PreviewSettings(preview=False), "127.0.0.1")
    assert off.refusal("127.0.0.1", "", "").status == 404
    token = PreviewAccess.from_settings(PreviewSettings(preview_token=TOKEN), "0.0.0.0")
    assert token.enabled
    assert token.refusal("cam.lan", f"Bearer {TOKEN}", "") is None
    assert token.refusal("cam.lan", "", TOKEN) is None
    assert token.refusal("cam.lan", "Bearer wrong", "").status == 401
    assert token.refusal("cam.lan", "", "").status == 401
    assert TOKEN not in repr(token)


def test_hub_keeps_the_newest_and_encodes_only_when_asked_at_most_fps():
    drawer = Counting()
    hub = PreviewHub(fps=5, max_clients=2, drawer=drawer)
    for i in range(50):
        hub.write(result(i))
    assert drawer.drawn == []  # no viewer: nothing drawn or encoded
    feed = hub.feed(0)
    assert feed is not None and hub.feed(1) is None and hub.sources() == ["cam <1>"]
    first = feed.newer_than(0, hub.interval_s, hub.drawer)
    assert first is not None and drawer.drawn == [49]  # the newest only
    image = cv2.imdecode(np.frombuffer(first.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3)
    assert feed.newer_than(first.serial, hub.interval_s, hub.drawer) is None  # nothing new
    hub.write(result(50))
    assert feed.newer_than(first.serial, hub.interval_s, hub.drawer) is None  # too soon
    time.sleep(hub.interval_s)
    second = feed.newer_than(first.serial, hub.interval_s, hub.drawer)
    assert second is not None and second.serial == 2 and drawer.drawn == [49, 50]
    assert feed.newer_than(0, hub.interval_s, hub.drawer) is second  # shared by viewers
    assert hub.join() and hub.join() and not hub.join()
    hub.leave()
    assert hub.join()


@pytest.fixture
def server():
    hub = PreviewHub(fps=20, max_clients=1)
    hub.write(result(1))
    preview = Preview(hub, PreviewAccess.from_settings(PreviewSettings(), "127.0.0.1"))
    with HealthServer(HealthRegistry(), "127.0.0.1", 0, (), preview) as health:
        yield f"http://127.0.0.1:{health.port}", hub


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_routes_page_stream_and_bad_requests(server):
    base, hub = server
    status, html = get(f"{base}/preview")
    assert status == 200 and 'src="/preview.mjpg?source=0"' in html
    assert "cam &lt;1&gt;" in html and "cam <1>" not in html  # escaped
    assert get(f"{base}/preview.mjpg?source=1")[0] == 404
    assert get(f"{base}/preview.mjpg?source=abc")[0] == 400
    assert get(f"{base}/preview.mjpg?source=%EF%BC%91")[0] == 400  # a full-width digit
    assert get(f"{base}/preview", {"Host": "evil.example"})[0] == 403
    with stream(f"{base}/preview.mjpg?source=0") as first:
        assert first.status == 200
        assert get(f"{base}/preview.mjpg?source=0") == (
            503,
            "too many preview viewers (PREVIEW_MAX_CLIENTS=1); try again later\n",
        )
    deadline = time.monotonic() + 5
    while hub.viewers and time.monotonic() < deadline:  # the slot frees when it leaves
        time.sleep(0.05)
    assert hub.viewers == 0
    done = threading.Event()

    def feed() -> None:  # the run loop's side: a new result every 20 ms
        for i in range(2, 1000):
            if done.wait(0.02):
                return
            hub.write(result(i))

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        parts, _ = read_parts(f"{base}/preview.mjpg?source=0", 3, timeout_s=10)
    finally:
        done.set()
        feeder.join()
    assert len(parts) == 3 and len(set(parts)) == 3


def test_a_token_can_ride_in_the_query_and_the_page_passes_it_on():
    hub = PreviewHub(fps=20, max_clients=2)
    hub.write(result(1))
    access = PreviewAccess.from_settings(PreviewSettings(preview_token=TOKEN), "127.0.0.1")
    with HealthServer(HealthRegistry(), "127.0.0.1", 0, (), Preview(hub, access)) as health:
        base = f"http://127.0.0.1:{health.port}"
        assert get(f"{base}/preview")[0] == 401
        status, html = get(f"{base}/preview", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and f"source=0&amp;token={TOKEN}" in html
        status, html = get(f"{base}/preview?token={TOKEN}")
        assert status == 200 and f"source=0&amp;token={TOKEN}" in html
        assert read_parts(f"{base}/preview.mjpg?source=0&token={TOKEN}", 1, 10)[0]
        assert get(f"{base}/v2/health/live")[0] == 200  # the probes need no token


def test_a_viewer_that_never_reads_is_dropped_and_a_stop_ends_streams(monkeypatch):
    from textdetector.preview import routes

    monkeypatch.setattr(routes, "SEND_TIMEOUT_S", 0.5)
    noise = np.random.default_rng(1).integers(0, 256, (720, 1280, 3), np.uint8)  # ~1 MB JPEGs
    hub = PreviewHub(fps=30, max_clients=2)
    preview = Preview(hub, PreviewAccess.from_settings(PreviewSettings(), "127.0.0.1"))
    done = threading.Event()

    def feed() -> None:
        for i in range(10000):
            if done.wait(0.01):
                return
            image = np.roll(noise, i, axis=1)
            hub.write(FrameResult(i, 0.0, "cam", Detections.empty((720, 1280)), image=image))

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        with HealthServer(HealthRegistry(), "127.0.0.1", 0, (), preview) as health:
            deadline = time.monotonic() + 10
            while not hub.sources() and time.monotonic() < deadline:
                time.sleep(0.01)
            stalled = socket.socket()
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.connect(("127.0.0.1", health.port))
            stalled.sendall(b"GET /preview.mjpg?source=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            while hub.viewers == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert hub.viewers == 1, "the stalled viewer never got its stream"
            joined = time.monotonic()
            while hub.viewers and time.monotonic() < joined + 10:  # buffers fill, then dropped
                time.sleep(0.05)
            assert hub.viewers == 0, "a viewer that never reads kept its slot"
            stalled.close()
            with stream(f"http://127.0.0.1:{health.port}/preview.mjpg?source=0") as watching:
                assert watching.status == 200
                health.__exit__(None, None, None)  # the run ends: the stream ends too
                started = time.monotonic()
                while watching.read(65536):
                    assert time.monotonic() - started < 5
    finally:
        done.set()
        feeder.join()
