"""The run mode's health endpoint on a real socket, the shared shutdown budget, and
source ids that never show a password."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request

import pytest
from serve_helpers import metric_samples as samples

from textdetector.errors import ConfigError
from textdetector.pipeline.health_http import HealthServer
from textdetector.sinks.delivery import Outbox
from textdetector.sinks.shutdown import ShutdownBudget
from textdetector.sources.capture import classify, redact
from textdetector.sources.health import CONNECTED, DOWN, HealthRegistry


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_ready_follows_the_sources_and_metrics_name_each_one():
    health = HealthRegistry()
    odd = 'cam "2"\\'
    with HealthServer(health, "127.0.0.1", 0) as server:
        assert get(server.port, "/v2/health/ready")[0] == 503  # no source yet
        health.register("a", live=True)
        health.register(odd, live=True)
        health.set_state("a", CONNECTED)
        health.count("a", read=7, dropped=2, reconnects=1)
        assert get(server.port, "/v2/health/ready") == (200, '{"ready": true}')
        status, text = get(server.port, "/metrics")
        assert status == 200
        got = samples(text)
        a = (("source", "a"),)
        assert got[("textdetector_source_up", a)] == 1
        assert got[("textdetector_source_frames_total", a)] == 7
        assert got[("textdetector_source_dropped_total", a)] == 2
        assert got[("textdetector_source_reconnects_total", a)] == 1
        assert got[("textdetector_source_state", (*a, ("state", "connected")))] == 1
        assert got[("textdetector_source_state", (*a, ("state", "down")))] == 0
        assert got[("textdetector_source_up", (("source", odd),))] == 0  # escaped and back
        assert got[("textdetector_ready", ())] == 1
        assert 'source="cam \\"2\\"\\\\"' in text  # the text format's escapes
        assert all(
            re.fullmatch(r"(# (HELP|TYPE) .+|textdetector_\w+(\{.*\})? \S+)", line)
            for line in text.splitlines()
        )
        health.set_state("a", DOWN, "gave up")
        assert get(server.port, "/v2/health/ready")[0] == 200  # the other is not down
        health.set_state(odd, DOWN)
        assert get(server.port, "/v2/health/ready") == (503, '{"ready": false}')
        assert get(server.port, "/v2/health/live") == (200, '{"live": true}')
        doc = json.loads(get(server.port, "/health")[1])
        assert doc["ready"] is False and doc["sources"]["a"]["last_error"] == "gave up"
        status, body = get(server.port, "/nope")
        assert status == 404 and "/metrics" in json.loads(body)["error"]


def test_a_busy_port_is_one_readable_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            ConfigError,
            match=rf"cannot listen on 127.0.0.1:{port} "
            r"\(HEALTH_HOST/HEALTH_PORT\)",
        ):
            HealthServer(HealthRegistry(), "127.0.0.1", port)


@pytest.mark.slow
def test_one_budget_is_shared_by_every_flush():
    """Two outboxes whose hub is unreachable (send raises, as the SDK does offline) each
    ask for 10 s; together they take the 1 s budget, not 20 s."""

    def offline(item: int) -> None:
        raise ConnectionError("hub unreachable")

    budget = ShutdownBudget(1.0)
    boxes = [Outbox(offline, backoff_s=0.05, max_backoff_s=0.1).start() for _ in range(2)]
    for box in boxes:
        box.put(1)
    started = time.monotonic()
    left = [box.close(budget.remaining(10.0)) for box in boxes]
    elapsed = time.monotonic() - started
    assert left == [1, 1]
    assert 0.9 <= elapsed < 1.6 and budget.remaining() == 0.0


def test_budget_starts_once():
    now = [100.0]
    budget = ShutdownBudget(5.0, clock=lambda: now[0])
    budget.start()
    now[0] += 2
    budget.start()
    assert budget.remaining() == 3.0 and budget.remaining(1.0) == 1.0


@pytest.mark.parametrize(
    "url, shown",
    [
        ("rtsp://admin:s3cr%40t@cam.local:554/stream1", "rtsp://admin:***@cam.local:554/stream1"),
        ("rtsp://cam.local/stream", "rtsp://cam.local/stream"),
        ("http://user@cam/mjpeg", "http://user@cam/mjpeg"),
        ("/videos/a:b@c.mp4", "/videos/a:b@c.mp4"),
    ],
)
def test_source_ids_hide_passwords(url, shown):
    assert redact(url) == shown
    assert redact(classify(url).target) == shown
