"""The HTTP service's throughput settings: OpenVINO's hint by run mode, engine-sized workers.

Real OpenVINO on the real detection model, a real service on a background event loop,
real HTTP clients. Only `tools/bench_http.py`'s verdict is checked on made-up figures
(the measurement itself is what `make bench-http` runs).
"""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import need
from serve_helpers import ServerThread, model_metadata, page_jpeg, request

from textdetector.config import DetectorSettings, EngineSettings, ServeSettings, load
from textdetector.engines import resolve_engine
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.openvino_engine import OpenVinoEngine
from textdetector.serve.pool import auto_workers
from textdetector.serve.server import detector_factory
from tools import bench_http

HAVE_OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.fixture(scope="module")
def openvino_present() -> None:
    need(HAVE_OPENVINO, "openvino not installed: pip install -r requirements.txt")


@pytest.fixture(scope="module")
def throughput_det(openvino_present, model_path: Path) -> OpenVinoEngine:
    engine = OpenVinoEngine.open(model_path, "fp32", hint="throughput")
    yield engine
    engine.close()


def test_hint_auto_is_throughput_in_the_service_only():
    assert load(EngineSettings, {}).ov_performance_hint == "auto"
    assert EngineSettings().for_service().ov_performance_hint == "throughput"
    for chosen in ("latency", "throughput"):
        explicit = load(EngineSettings, {"OV_PERFORMANCE_HINT": chosen})
        assert explicit.for_service().ov_performance_hint == chosen


def test_auto_hint_outside_the_service_compiles_latency(openvino_present, model_path):
    engine = OpenVinoEngine.open(model_path, "fp32", hint="auto")
    try:
        assert engine.performance_hint == "LATENCY"
        assert engine.parallel_requests == 1
        assert auto_workers(engine) == 1
    finally:
        engine.close()


def test_throughput_engine_has_a_request_per_stream(throughput_det):
    compiled = throughput_det._cache[()].compiled
    optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    assert throughput_det.performance_hint == "THROUGHPUT"
    assert str(compiled.get_property("PERFORMANCE_HINT")) == "THROUGHPUT"
    assert throughput_det.parallel_requests == optimal
    assert len(throughput_det._cache[()].free) >= max(2, optimal)
    expected = 2 * optimal if optimal > 1 else 1
    assert auto_workers(throughput_det) == expected


def test_onnxruntime_keeps_one_worker(model_path):
    engine = OnnxRuntimeEngine.open(model_path)
    try:
        assert auto_workers(engine) == 1
    finally:
        engine.close()


def served(engine: EngineSettings) -> ServerThread:
    settings = ServeSettings(host="127.0.0.1", port=0, workers=0, queue_size=32, warmup_runs=1)
    return ServerThread(settings, detector_factory(engine, DetectorSettings()))


def metadata(port: int, timeout: float = 60.0) -> dict:
    """The model parameters once the service is ready (model loaded and warmed)."""
    return model_metadata(port, timeout)["parameters"]


@pytest.mark.slow
def test_service_uses_throughput_and_engine_sized_workers(openvino_present, model_path):
    need(resolve_engine(EngineSettings()) == "openvino", "ENGINE=auto is not OpenVINO here")
    with served(EngineSettings()) as srv:
        params = metadata(srv.port)
        assert params["engine"] == "openvino"
        assert params["performance_hint"] == "THROUGHPUT"
        assert params["workers"] == auto_workers(srv.pool.detector.engine) >= 1
        body = page_jpeg()
        with ThreadPoolExecutor(8) as pool:
            replies = list(
                pool.map(
                    lambda _: request(
                        srv.port, "POST", "/score", body, {"Content-Type": "image/jpeg"}
                    ),
                    range(8),
                )
            )
        assert {r.status for r in replies} == {200}
        assert len({r.body for r in replies}) == 1  # same image, same answer, any worker


def test_explicit_latency_hint_is_kept_with_one_worker(openvino_present, model_path):
    engine = replace(EngineSettings(), engine="openvino", ov_performance_hint="latency")
    with served(engine) as srv:
        params = metadata(srv.port)
        assert params["performance_hint"] == "LATENCY"
        assert params["workers"] == 1


def figures(rps: float, failed: int = 0) -> dict:
    return {"throughput_rps": rps, "failed": failed}


def test_bench_verdict_uses_the_best_in_process_level():
    direct = {1: figures(1.0), 4: figures(2.0), 16: figures(1.8)}
    met = bench_http.verdict({16: figures(1.9)}, direct)
    assert met["status"] == "MET" and met["best_in_process_concurrency"] == 4
    assert met["ratio"] == pytest.approx(0.95)
    assert bench_http.verdict({16: figures(1.85)}, direct)["status"] == "MISSED"
    assert bench_http.verdict({16: figures(2.5, failed=3)}, direct)["status"].startswith("INVALID")
    assert bench_http.verdict({4: figures(2.0)}, direct)["status"] == "NOT MEASURED"


def test_bench_rejects_bad_levels(capsys):
    for argv in (["--concurrency", "one"], ["--concurrency", "0,4"], ["--rounds", "0"]):
        with pytest.raises(SystemExit) as exc:
            bench_http.parse_args(argv)
        assert exc.value.code == 2
    assert "--concurrency" in capsys.readouterr().err
