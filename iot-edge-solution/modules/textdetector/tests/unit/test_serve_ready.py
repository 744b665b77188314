"""Readiness before/after warm-up and the bounded queue, on the real service in-process.

The detector is real (ONNX Runtime, pinned model); a threading.Event gates its loading
or its `detect` so the test controls *when* work finishes, not what it computes.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from serve_helpers import ServerThread, page_jpeg, request

from textdetector.config import DetectorSettings, EngineSettings, ServeSettings
from textdetector.detector import TextDetector

SETTINGS = ServeSettings(host="127.0.0.1", port=0, warmup_runs=1)


def real_detector() -> TextDetector:
    return TextDetector.open(EngineSettings(), DetectorSettings())


def wait_until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.mark.slow
def test_not_ready_until_model_loaded_and_warmed():
    release = threading.Event()

    def gated_factory() -> TextDetector:
        assert release.wait(60)
        return real_detector()

    with ServerThread(SETTINGS, gated_factory) as srv:
        assert request(srv.port, "GET", "/v2/health/live").status == 200
        before = request(srv.port, "GET", "/v2/health/ready")
        assert before.status == 503 and before.json() == {"ready": False}
        assert before.headers["retry-after"] == "1"
        assert request(srv.port, "GET", "/v2/models/textdetector/ready").status == 503
        early = request(srv.port, "POST", "/score", page_jpeg())
        assert early.status == 503 and early.json()["code"] == "not_ready"
        assert "retry-after" in early.headers
        release.set()
        wait_until(lambda: request(srv.port, "GET", "/v2/health/ready").status == 200)
        assert request(srv.port, "POST", "/score", page_jpeg()).status == 200
        metrics = request(srv.port, "GET", "/metrics").body.decode()
        assert "textdetector_ready 1" in metrics


class GatedDetector(TextDetector):
    """The real detector; each `detect` after warm-up waits until the test opens the gate."""

    gate = threading.Event()
    warmed = False

    def detect(self, image):
        if self.warmed:
            assert self.gate.wait(60)
        return super().detect(image)


@pytest.mark.slow
def test_full_queue_answers_503_with_retry_after():
    settings = ServeSettings(host="127.0.0.1", port=0, workers=1, queue_size=1, warmup_runs=1)
    detector: list[GatedDetector] = []

    def factory() -> TextDetector:
        detector.append(GatedDetector(real_detector().engine))
        return detector[0]

    with ServerThread(settings, factory) as srv:
        wait_until(lambda: srv.pool.ready)
        detector[0].warmed = True
        with ThreadPoolExecutor(2) as clients:
            first = clients.submit(request, srv.port, "POST", "/score", page_jpeg())
            wait_until(lambda: srv.pool.running == 1)
            second = clients.submit(request, srv.port, "POST", "/score", page_jpeg())
            wait_until(lambda: srv.pool.admitted == 2)
            metrics = request(srv.port, "GET", "/metrics").body.decode()
            assert "textdetector_queue_depth 1" in metrics
            refused = request(srv.port, "POST", "/score", page_jpeg())
            assert refused.status == 503
            assert refused.json()["code"] == "queue_full"
            assert refused.headers["retry-after"] == "1"
            GatedDetector.gate.set()
            assert first.result(60).status == 200
            assert second.result(60).status == 200
        assert "textdetector_rejected_total 1" in request(srv.port, "GET", "/metrics").body.decode()
        assert request(srv.port, "POST", "/score", page_jpeg()).status == 200


def test_port_zero_and_clean_shutdown_while_idle():
    with ServerThread(SETTINGS, real_detector) as srv:
        wait_until(lambda: srv.pool.ready)
        assert srv.port > 0
    assert not srv.thread.is_alive()
