"""The Triton engine against a real Triton Inference Server (nvidia-pytriton's tritonserver).

The server is started once for this module (it serves the exported detector and
recogniser through ONNX Runtime inside Triton's Python backend), and the remote engine
is compared with the local ONNX Runtime engine on demo frames over gRPC and HTTP. Its
outage handling is checked by killing the server mid-run and starting it again.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import triton_server

from textdetector.config import EngineSettings, TritonSettings
from textdetector.detector import TextDetector
from textdetector.engines import run_single
from textdetector.engines.triton_engine import TritonEngine, TritonUnavailableError
from textdetector.export.triton import describe_onnx
from textdetector.models import REC_MODEL

pytest.importorskip("tritonclient.grpc", reason="tritonclient missing")
REC_PATH = Path(__file__).resolve().parents[2] / "local_data" / REC_MODEL.name


@pytest.fixture(scope="session")
def triton(tmp_path_factory, model_path):
    """One real Triton server per test session, serving text_det and text_rec."""
    if not REC_PATH.is_file():
        pytest.skip("recognition model missing: run `make setup`")
    models = [describe_onnx(model_path), describe_onnx(REC_PATH)]
    with triton_server.running(tmp_path_factory.mktemp("triton"), models) as server:
        yield server


def settings(url: str, timeout: float = 10.0) -> TritonSettings:
    return TritonSettings(triton_url=url, triton_timeout=timeout)


@pytest.fixture(params=["grpc", "http"])
def url(request, triton) -> str:
    return triton.grpc_url if request.param == "grpc" else triton.http_url


def test_engine_describes_the_served_model(triton, model_path):
    with_path = TritonEngine.open(REC_PATH, settings(triton.grpc_url))
    try:
        assert with_path.model == "text_rec" and with_path.name == "triton"
        assert [(s.name, s.shape, s.dtype) for s in with_path.inputs] == [
            ("x", (None, 3, None, None), "float32")
        ]
        assert with_path.outputs[0].shape == (None, None, 6625)
        assert len(with_path.metadata["character"].splitlines()) == 6623
    finally:
        with_path.close()


@pytest.fixture(scope="module")
def ort_detector(model_path):
    """The local reference: ONNX Runtime, the runtime the test server uses inside Triton."""
    with TextDetector.open(EngineSettings(engine="onnxruntime", det_model="ppocrv4")) as detector:
        yield detector


def test_detection_is_identical_to_local_ort(url, model_path, ort_detector, demo_frames):
    """Probability maps and boxes from Triton equal the local engine's on demo frames."""
    remote = TextDetector(TritonEngine.open(model_path, settings(url)))
    try:
        for index in (60, 150):
            frame = demo_frames[index]
            local_boxes, _ = ort_detector.detect(frame)
            remote_boxes, _ = remote.detect(frame)
            assert len(local_boxes) > 0, index
            np.testing.assert_array_equal(remote_boxes.boxes, local_boxes.boxes)
            np.testing.assert_array_equal(remote_boxes.scores, local_boxes.scores)
        blob = ort_detector.prepare(demo_frames[60]).blob
        batch = np.concatenate([blob, blob])
        np.testing.assert_allclose(
            run_single(remote.engine, batch)[1], run_single(ort_detector.engine, blob)[0], atol=1e-5
        )
    finally:
        remote.close()


def rec_batch(frame: np.ndarray, boxes: np.ndarray, count: int = 6) -> np.ndarray:
    """Axis-aligned crops of detected words, resized to height 48, padded to width 320."""
    import cv2

    batch = np.zeros((count, 3, 48, 320), np.float32)
    for slot, box in enumerate(boxes[:count]):
        x0, y0 = np.floor(box.min(axis=0)).astype(int)
        x1, y1 = np.ceil(box.max(axis=0)).astype(int)
        crop = frame[max(y0, 0) : y1, max(x0, 0) : x1]
        width = min(320, max(1, round(48 * crop.shape[1] / crop.shape[0])))
        resized = cv2.resize(crop, (width, 48)).astype(np.float32)
        batch[slot, :, :, :width] = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
    return batch


def test_recognition_outputs_are_argmax_identical(url, detector, demo_frames):
    import onnxruntime as ort

    frame = demo_frames[60]
    boxes = detector.detect(frame)[0].boxes
    batch = rec_batch(frame, boxes)
    local = ort.InferenceSession(str(REC_PATH), providers=["CPUExecutionProvider"])
    expected = local.run(None, {"x": batch})[0]
    engine = TritonEngine.open(REC_PATH, settings(url))
    try:
        (got,) = engine.run({"x": batch}).values()
    finally:
        engine.close()
    assert got.shape == expected.shape == (len(batch), 40, 6625)
    np.testing.assert_array_equal(got.argmax(axis=2), expected.argmax(axis=2))
    assert (expected.argmax(axis=2) > 0).any(), "the crops must read as something"


def metric(text: str, name: str, model: str) -> float:
    pattern = rf'^{name}{{model="{model}",version="1"}} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))


def test_concurrent_requests_form_batches(triton, model_path):
    """Four threads sending at once: Triton's dynamic batcher runs fewer, larger batches."""
    before = triton.metrics()
    engine = TritonEngine.open(model_path, settings(triton.grpc_url))
    blob = np.random.default_rng(0).random((1, 3, 320, 320), np.float32)

    def send() -> None:
        for _ in range(6):
            engine.run({"x": blob})

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.close()

    def counted(name: str, after: str) -> float:
        return metric(after, name, "text_det") - metric(before, name, "text_det")

    deadline = time.monotonic() + 15  # Triton refreshes its metrics every couple of seconds
    after = triton.metrics()
    while counted("nv_inference_count", after) < 24 and time.monotonic() < deadline:
        time.sleep(0.5)
        after = triton.metrics()
    requests = counted("nv_inference_count", after)
    executions = counted("nv_inference_exec_count", after)
    assert requests == 24
    assert executions < requests, f"no batch formed: {executions} executions"


def test_missing_server_is_one_clear_error():
    port = triton_server.free_port()
    start = time.monotonic()
    with pytest.raises(TritonUnavailableError) as caught:
        TritonEngine.open(
            None, settings(f"grpc://127.0.0.1:{port}", timeout=1.0), model_name="text_det"
        )
    message = str(caught.value)
    assert time.monotonic() - start < 5
    assert f"grpc://127.0.0.1:{port}" in message and "'text_det'" in message
    assert "\n" not in message and caught.value.exit_code == 5


def test_unknown_model_is_named(triton):
    with pytest.raises(TritonUnavailableError, match=r"no ready model 'nothing_here'"):
        TritonEngine.open(None, settings(triton.http_url, timeout=1.0), model_name="nothing_here")


def test_module_reads_the_same_through_triton(url, model_path, demo_frames, tmp_path):
    """`main.py` with ENGINE=triton gives the boxes and strings of the local engine."""
    import json
    import os
    import subprocess
    import sys

    import cv2

    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 15, (1280, 720))
    for index in (30, 60, 150):
        writer.write(demo_frames[index])
    writer.release()

    def run(engine: str) -> list[dict]:
        env = {
            **os.environ,
            "ENGINE": engine,
            "TRITON_URL": url,
            "CAMERA_PATH": str(clip),
            "JSON_OUTPUT": "-",
            "QUIET": "true",
            "MODEL_SET": "ppocrv4",
            "DET_MODEL": "ppocrv4",
        }  # as served
        done = subprocess.run(
            [sys.executable, "main.py"],
            cwd=Path(__file__).parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    local, remote = run("onnxruntime"), run("triton")
    assert len(local) == len(remote) == 3
    for a, b in zip(local, remote):
        assert a["boxes"] == b["boxes"] and a["texts"] == b["texts"]
    assert any(text for frame in remote for text in frame["texts"])


def test_server_crash_is_reported_and_service_resumes(triton, model_path):
    """Kill the server while frames flow: a one-line error, no hang; it resumes on restart."""
    engines = [
        TritonEngine.open(model_path, settings(u, timeout=30.0), retries=2, backoff=0.2)
        for u in (triton.grpc_url, triton.http_url)
    ]
    blob = np.random.default_rng(1).random((1, 3, 96, 96), np.float32)
    try:
        for engine in engines:
            engine.run({"x": blob})
        triton.kill()
        for engine in engines:
            start = time.monotonic()
            with pytest.raises(TritonUnavailableError) as caught:
                for _ in range(50):
                    engine.run({"x": blob})
            assert time.monotonic() - start < 10
            assert engine.url in str(caught.value) and "\n" not in str(caught.value)
        triton.start()
        for engine in engines:
            (prob,) = engine.run({"x": blob}).values()
            assert prob.shape == (1, 1, 96, 96)
    finally:
        for engine in engines:
            engine.close()


def test_a_request_timeout_is_reported_not_resent(triton, model_path):
    """Last in the module (files run whole and in order, `--dist loadfile`): the server
    goes on with the abandoned batch for a while, and a request arriving meanwhile once
    aborted pytriton's Python backend (boost::interprocess::lock_exception) on a busy
    machine, which took the module's own reading test down with it."""
    engine = TritonEngine.open(model_path, settings(triton.grpc_url, timeout=0.3))
    big = np.zeros((4, 3, 960, 960), np.float32)  # seconds of work on a CPU
    start = time.monotonic()
    try:
        with pytest.raises(TritonUnavailableError, match=r"timed out after 0.3 s"):
            engine.run({"x": big})
    finally:
        engine.close()
    assert time.monotonic() - start < 2
