"""The module as a real subprocess (`python main.py`) on real test stream servers that
crash and come back: frames resume, health is reported (/health, /metrics, the console),
one source down never slows the others, and SIGTERM always exits 0 within the grace."""

from __future__ import annotations

import re
import signal
import time

import pytest
from module_process import ModuleProcess
from serve_helpers import metric_samples
from stream_servers import StreamServer, serve

FAST = {
    "RECONNECT_DELAY": "0.3",
    "RECONNECT_MAX_DELAY": "1.5",
    "SOURCE_TIMEOUT": "3",
    "SUMMARY_INTERVAL": "2",
}
START_S = 60  # model load and first frame on a busy machine


@pytest.fixture
def camera():
    yield from serve("mjpeg")


@pytest.fixture
def second_camera():
    yield from serve("mjpeg")


def state(module: ModuleProcess, source_id: str) -> str:
    entry = module.source(source_id)
    return entry["state"] if entry else ""


def metric(text: str, name: str, source: str) -> float:
    key = (f"textdetector_{name}", (("source", source),))
    samples = metric_samples(text)
    assert key in samples, f"{name} for {source} missing from /metrics"
    return samples[key]


def started(module: ModuleProcess, source_id: str, frames: int = 5) -> None:
    assert module.wait_for(lambda: module.frames(source_id) >= frames, START_S), module.log()


def test_stream_killed_for_5_s_resumes_and_reports_each_state(camera: StreamServer):
    module = ModuleProcess({"CAMERA_PATH": camera.url, **FAST})
    try:
        started(module, camera.url)
        camera.kill()
        killed = time.monotonic()
        assert module.wait_for(lambda: state(module, camera.url) == "down", 5), module.log()
        assert module.get("/v2/health/ready")[0] == 503  # its only source is down
        assert module.get("/v2/health/live")[0] == 200
        assert metric(module.get("/metrics")[1], "source_up", camera.url) == 0
        time.sleep(max(0.0, killed + 5 - time.monotonic()))  # down for 5 s
        before, restarted = module.frames(camera.url), time.monotonic()
        camera.start()
        assert module.wait_for(lambda: module.frames(camera.url) >= before + 5, 10), module.log()
        print(f"frames resumed {time.monotonic() - restarted:.1f} s after the restart")
        assert module.get("/v2/health/ready")[0] == 200
        metrics = module.get("/metrics")[1]
        assert metric(metrics, "source_up", camera.url) == 1
        assert metric(metrics, "source_reconnects_total", camera.url) >= 1
        assert metric(metrics, "source_frames_total", camera.url) >= before + 5
        assert module.process.poll() is None
    finally:
        code = module.stop()
    assert code == 0, module.log()
    changes = [line for line in module.stderr if f"source {camera.url}:" in line and "->" in line]
    assert [c.split(": ", 2)[-1].split(" (")[0] for c in changes][:3] == [
        "reconnecting -> connected",
        "connected -> reconnecting",
        "reconnecting -> down",
    ]
    assert changes[-1].endswith("down -> connected")
    assert any(line.startswith("done:") for line in module.stdout)
    assert re.search(
        rf"sources: {re.escape(camera.url)} \w+ \d+ s, [1-9]\d* reconnects",
        "\n".join(module.stdout),
    )


def test_stream_that_never_returns_is_down_and_sigterm_exits_within_the_grace(refused):
    url = f"tcp://127.0.0.1:{refused}"  # nobody ever listens
    module = ModuleProcess(
        {
            "CAMERA_PATH": url,
            "RECONNECT_DELAY": "0.2",
            "RECONNECT_MAX_DELAY": "1.6",
            "SHUTDOWN_GRACE": "2",
        }
    )
    attempts: list[tuple[int, float]] = []

    def record() -> bool:
        entry = module.source(url)
        if entry and (not attempts or entry["reconnects"] > attempts[-1][0]):
            attempts.append((entry["reconnects"], time.monotonic()))
        return len(attempts) >= 6 and entry["state"] == "down"

    try:
        assert module.wait_for(record, START_S, step_s=0.02), module.log()
        gaps = [b[1] - a[1] for a, b in zip(attempts[1:], attempts[2:])]
        print("seconds between reconnect attempts:", [round(g, 2) for g in gaps])
        assert gaps[-1] > 2 * gaps[0]  # the delays grow
        assert module.get("/v2/health/ready")[0] == 503
        assert module.get("/v2/health/live") == (200, '{"live": true}')
        assert module.health()["sources"][url]["frames_read"] == 0
    finally:
        code = module.stop(signal.SIGTERM)
    print(f"SIGTERM to exit: {module.exit_seconds:.2f} s")
    assert code == 0, module.log()
    assert module.exit_seconds < 2 + 3  # SHUTDOWN_GRACE plus reader and engine teardown
    assert "Traceback" not in module.log()


def test_one_source_down_never_slows_the_other(camera: StreamServer, second_camera: StreamServer):
    module = ModuleProcess({"CAMERA_PATH": f"{camera.url}|{second_camera.url}", **FAST})
    healthy = second_camera.url

    def fps(seconds: float) -> float:
        first, start = module.frames(healthy), time.monotonic()
        time.sleep(seconds)
        return (module.frames(healthy) - first) / (time.monotonic() - start)

    try:
        started(module, camera.url)
        started(module, healthy)
        time.sleep(2)  # past the start-up transient
        before = fps(5)
        camera.kill()
        assert module.wait_for(lambda: state(module, camera.url) != "connected", 10)
        during = fps(5)
        states = (state(module, camera.url), state(module, healthy))
        print(
            f"healthy source: {before:.1f} fps before, {during:.1f} fps during the "
            f"other's outage; states {states}"
        )
        assert states[1] == "connected" and states[0] in ("reconnecting", "down")
        assert module.get("/v2/health/ready")[0] == 200  # one source still delivers
        assert during >= 0.6 * before
    finally:
        code = module.stop()
    assert code == 0, module.log()
