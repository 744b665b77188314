"""The HTTP service as a real child process (`main.py serve`), driven by real HTTP clients."""

from __future__ import annotations

import asyncio
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest
from serve_helpers import (
    MODULE_DIR,
    ServerProcess,
    blank_jpeg,
    metric_samples,
    multipart,
    page_jpeg,
    page_png,
    request,
)

from textdetector.config import EngineSettings
from textdetector.engines import resolve_engine

MAX_BODY = 300_000  # small limits so the over-limit cases stay cheap
MAX_PIXELS = 2_000_000


def png_header_only(width: int, height: int) -> bytes:
    """A tiny, valid PNG that declares width x height (a decompression bomb when large)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def srv():
    server = ServerProcess(
        {
            "SERVE_MAX_BODY_BYTES": str(MAX_BODY),
            "SERVE_MAX_PIXELS": str(MAX_PIXELS),
            "SERVE_QUEUE_SIZE": "32",
            # 12 concurrent page stills queue behind each other: on a slow, busy 2-core
            # machine the last waits longer than the default 30 s (the clients wait 120)
            "SERVE_REQUEST_TIMEOUT": "120",
        }
    )
    try:
        yield server.start()
    finally:
        assert server.stop() == 0, "".join(server.log)


@pytest.mark.slow
def test_lva_score_returns_normalised_entities(srv):
    reply = request(srv.port, "POST", "/score", page_png(), {"Content-Type": "image/png"})
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    inferences = [i for i in reply.json()["inferences"] if i["type"] == "entity"]
    assert len(inferences) >= 3
    confidences = [i["entity"]["tag"]["confidence"] for i in inferences]
    assert confidences == sorted(confidences, reverse=True)
    for item in inferences:
        assert item["type"] == "entity"
        assert item["entity"]["tag"]["value"] == "text"
        box = item["entity"]["box"]
        assert set(box) == {"l", "t", "w", "h"}
        assert 0 <= box["l"] <= 1 and 0 <= box["t"] <= 1 and box["w"] > 0 and box["h"] > 0
        assert box["l"] + box["w"] <= 1.0001 and box["t"] + box["h"] <= 1.0001


@pytest.mark.slow
def test_lva_score_jpeg_octet_stream_without_type(srv):
    for headers in ({"Content-Type": "application/octet-stream"}, {}):
        reply = request(srv.port, "POST", "/score", page_jpeg(), headers)
        assert reply.status == 200, reply.body
        assert reply.json()["inferences"]


def test_lva_score_204_when_nothing_found(srv):
    reply = request(srv.port, "POST", "/score", blank_jpeg(), {"Content-Type": "image/jpeg"})
    assert reply.status == 204
    assert reply.body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/image",
        "/customvision/v3.0/Prediction/proj-1/detect/iterations/Iteration7/image",
        "/customvision/v3.0/Prediction/proj-1/detect/iterations/Iteration7/image/nostore",
    ],
)
@pytest.mark.slow
def test_custom_vision_multipart_and_octet_stream(srv, path):
    body, headers = multipart("imageData", "page.png", page_png())
    by_form = request(srv.port, "POST", path, body, headers)
    by_raw = request(
        srv.port, "POST", path, page_png(), {"Content-Type": "application/octet-stream"}
    )
    for reply in (by_form, by_raw):
        assert reply.status == 200, reply.body
        answer = reply.json()
        assert set(answer) == {"id", "project", "iteration", "created", "predictions"}
        assert answer["predictions"]
        first = answer["predictions"][0]
        assert first["tagName"] == "text" and first["tagId"]
        assert set(first["boundingBox"]) == {"left", "top", "width", "height"}
        assert 0 < first["probability"] <= 1
    if "proj-1" in path:
        assert by_form.json()["project"] == "proj-1"
        assert by_form.json()["iteration"] == "Iteration7"
    assert by_form.json()["predictions"] == by_raw.json()["predictions"]
    assert by_form.json()["id"] != by_raw.json()["id"]


def test_custom_vision_empty_predictions_are_200(srv):
    reply = request(srv.port, "POST", "/image", blank_jpeg(), {"Content-Type": "image/jpeg"})
    assert reply.status == 200
    assert reply.json()["predictions"] == []


def test_health_and_model_metadata(srv):
    assert request(srv.port, "GET", "/v2/health/live").status == 200
    assert request(srv.port, "GET", "/v2/health/ready").json() == {"ready": True}
    assert request(srv.port, "GET", "/v2/models/textdetector/ready").status == 200
    meta = request(srv.port, "GET", "/v2/models/textdetector").json()
    assert meta["name"] == "textdetector"
    assert meta["inputs"][0]["shape"] == [-1, 3, -1, -1]
    assert meta["parameters"]["engine"] == resolve_engine(EngineSettings())
    assert meta["parameters"]["max_pixels"] == MAX_PIXELS
    missing = request(srv.port, "GET", "/v2/models/other")
    assert missing.status == 404 and missing.json()["code"] == "model_not_found"
    assert request(srv.port, "GET", "/v2/models/other/ready").status == 404


TRUNCATED_JPEG = page_jpeg()[:5000]
BAD_INPUTS = {
    "empty body": ("POST", "/score", b"", {"Content-Type": "image/jpeg"}, 400, "empty_body"),
    "non-image bytes": (
        "POST",
        "/score",
        b"hello world" * 10,
        {"Content-Type": "application/octet-stream"},
        400,
        "invalid_image",
    ),
    "truncated JPEG": (
        "POST",
        "/score",
        TRUNCATED_JPEG,
        {"Content-Type": "image/jpeg"},
        400,
        "invalid_image",
    ),
    "truncated PNG": (
        "POST",
        "/score",
        page_png()[:3000],
        {"Content-Type": "image/png"},
        400,
        "invalid_image",
    ),
    "text/plain body": (
        "POST",
        "/score",
        b"hello",
        {"Content-Type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
    "JSON body": (
        "POST",
        "/image",
        b"{}",
        {"Content-Type": "application/json"},
        415,
        "unsupported_media_type",
    ),
    "body over byte limit": (
        "POST",
        "/score",
        b"\xff\xd8\xff" + b"\0" * (MAX_BODY + 70_000),
        {"Content-Type": "image/jpeg"},
        413,
        "payload_too_large",
    ),
    "PNG bomb 100000x100000": (
        "POST",
        "/score",
        png_header_only(100_000, 100_000),
        {"Content-Type": "image/png"},
        413,
        "image_too_large",
    ),
    "PNG over pixel limit": (
        "POST",
        "/image",
        png_header_only(2000, 1001),
        {"Content-Type": "image/png"},
        413,
        "image_too_large",
    ),
    "PNG 0x0": ("POST", "/score", png_header_only(0, 0), {}, 400, "invalid_image"),
    "multipart without image": (
        "POST",
        "/image",
        *multipart("note", "", b"x", "text/plain"),
        400,
        "missing_image",
    ),
    "GET /score": ("GET", "/score", None, {}, 405, "method_not_allowed"),
    "DELETE /image": ("DELETE", "/image", None, {}, 405, "method_not_allowed"),
    "POST /v2/health/ready": ("POST", "/v2/health/ready", b"x", {}, 405, "method_not_allowed"),
    "unknown route": ("GET", "/nope", None, {}, 404, "not_found"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_gets_json_error_and_server_stays_up(srv, case):
    method, path, body, headers, status, code = BAD_INPUTS[case]
    reply = request(srv.port, method, path, body, headers)
    assert reply.status == status, (case, reply.body)
    error = reply.json()
    assert error["code"] == code and error["status"] == status and error["error"]
    if status == 405:
        assert reply.headers["allow"]
    assert request(srv.port, "GET", "/v2/health/ready").status == 200


@pytest.mark.slow
def test_concurrent_requests_all_answer_the_same(srv):
    expected = request(srv.port, "POST", "/score", page_jpeg()).json()

    async def burst(n: int) -> list[tuple[int, dict]]:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def one() -> tuple[int, dict]:
                async with session.post(
                    f"http://127.0.0.1:{srv.port}/score",
                    data=page_jpeg(),
                    headers={"Content-Type": "image/jpeg"},
                ) as r:
                    return r.status, await r.json()

            return await asyncio.gather(*(one() for _ in range(n)))

    results = asyncio.run(burst(12))
    assert [status for status, _ in results] == [200] * 12
    assert all(body == expected for _, body in results)
    with ThreadPoolExecutor(4) as pool:  # and from plain blocking clients on threads
        replies = list(
            pool.map(lambda _: request(srv.port, "POST", "/score", page_png()), range(4))
        )
    assert {r.status for r in replies} == {200}


@pytest.mark.slow
def test_metrics_count_requests_by_route_and_status(srv):
    """Counts its own requests: one scored image and one empty body (400), so it holds
    whichever worker runs it and whatever ran before on the shared server."""
    assert request(srv.port, "POST", "/score", page_jpeg()).status == 200
    request(srv.port, "POST", "/score", b"", {"Content-Type": "image/jpeg"})
    got = metric_samples(request(srv.port, "GET", "/metrics").body.decode())
    score = (("method", "POST"), ("route", "/score"), ("status", "400"))
    assert got[("textdetector_http_requests_total", score)] >= 1
    assert got[("textdetector_http_request_duration_seconds_count", (("route", "/score"),))] >= 1
    assert got[("textdetector_inference_duration_seconds_count", (("stage", "detect"),))] >= 1
    assert got[("textdetector_queue_depth", ())] == 0
    assert got[("textdetector_ready", ())] == 1


@pytest.mark.slow
def test_cli_rejects_bad_settings_and_missing_model(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "main.py", "serve", *args],
            cwd=MODULE_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    bad_port = run("--port", "70000")
    assert bad_port.returncode == 2 and "SERVE_PORT" in bad_port.stderr
    assert "Traceback" not in bad_port.stderr
    missing = run("--port", "0", "--model-path", str(tmp_path / "none.onnx"))
    assert missing.returncode == 3 and "model file not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_port_in_use_is_a_one_line_error(srv):
    busy = subprocess.run(
        [sys.executable, "main.py", "serve", "--port", str(srv.port)],
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert busy.returncode == 2 and "cannot listen on" in busy.stderr
    assert "Traceback" not in busy.stderr
