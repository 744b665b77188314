"""SERVE_API_KEY on the real service (`main.py serve` as a child process, real model)."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from serve_helpers import MODULE_DIR, ServerProcess, metric_samples, multipart, page_png, request

from textdetector.config import ServeSettings, load
from textdetector.errors import ConfigError

KEY = secrets.token_hex(20)
CV_PATH = "/customvision/v3.0/Prediction/p/detect/iterations/i/image"
GUARDED = [
    ("POST", "/score"),
    ("POST", "/image"),
    ("POST", CV_PATH),
    ("GET", "/v2"),
    ("GET", "/v2/models/textdetector"),
    ("GET", "/v2/models/textdetector/ready"),
    ("GET", "/metrics"),
    ("GET", "/no-such-route"),
    ("GET", "/score"),
]
WRONG = [
    {},
    {"X-API-Key": KEY[:-1]},
    {"X-API-Key": KEY + "0"},
    {"X-API-Key": ""},
    {"Authorization": f"Bearer {KEY[:-1]}"},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": KEY},
    {"X-Api-Key": "\u00e9" * 40},
]


@pytest.fixture(scope="module")
def srv():
    server = ServerProcess({"SERVE_API_KEY": KEY, "SERVE_WARMUP_RUNS": "0"})
    try:
        yield server.start()
    finally:
        assert server.stop() == 0, "".join(server.log)
    assert KEY not in "".join(server.log)


@pytest.mark.slow
def test_without_the_right_key_only_health_answers(srv):
    for method, path in GUARDED:
        for headers in WRONG:
            reply = request(
                srv.port, method, path, page_png() if method == "POST" else None, headers
            )
            assert reply.status == 401, (method, path, headers, reply.body)
            body = reply.json()
            assert body["code"] == "unauthorized" and body["status"] == 401
            assert "X-API-Key" in body["error"] and KEY not in reply.body.decode()
            assert reply.headers["www-authenticate"].startswith("Bearer")
    assert request(srv.port, "GET", "/v2/health/live").json() == {"live": True}
    assert request(srv.port, "GET", "/v2/health/ready").json() == {"ready": True}
    assert any("API key required" in line for line in srv.log)


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}, {"authorization": f"bearer  {KEY} "}],
)
@pytest.mark.slow
def test_the_right_key_in_either_header_scores(srv, headers):
    reply = request(
        srv.port, "POST", "/score", page_png(), {"Content-Type": "image/png", **headers}
    )
    assert reply.status == 200 and len(reply.json()["inferences"]) >= 3
    body, form = multipart("imageData", "page.png", page_png())
    reply = request(srv.port, "POST", CV_PATH, body, {**form, **headers})
    assert reply.status == 200 and reply.json()["predictions"]


def test_existing_answers_are_kept_behind_the_key(srv):
    key = {"X-API-Key": KEY}
    cases = [
        ("POST", "/score", b"", {}, 400, "empty_body"),
        ("POST", "/score", b"hello", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        ("GET", "/score", None, {}, 405, "method_not_allowed"),
        ("GET", "/no-such-route", None, {}, 404, "not_found"),
        ("GET", "/v2/models/other", None, {}, 404, "model_not_found"),
    ]
    for method, path, body, headers, status, code in cases:
        reply = request(srv.port, method, path, body, {**headers, **key})
        assert (reply.status, reply.json()["code"]) == (status, code), path
    assert request(srv.port, "GET", "/v2/models/textdetector", None, key).status == 200
    # Refused here, not only by another test: `make quick` may run that one elsewhere.
    assert request(srv.port, "POST", "/score", b"x", {"Content-Type": "image/jpeg"}).status == 401
    metrics = request(srv.port, "GET", "/metrics", None, key).body.decode()
    refused = (("method", "POST"), ("route", "/score"), ("status", "401"))
    assert metric_samples(metrics)[("textdetector_http_requests_total", refused)] >= 1


@pytest.mark.slow
def test_key_is_environment_only_and_never_shown():
    settings = load(ServeSettings, {"SERVE_API_KEY": f"  {KEY} "})
    assert settings.api_key == KEY and KEY not in repr(settings)
    assert load(ServeSettings, {}).api_key == ""
    with pytest.raises(ConfigError, match="unexpanded template variable"):
        load(ServeSettings, {"SERVE_API_KEY": "${SERVE_API_KEY}"})
    run = [sys.executable, "main.py", "serve"]
    flag = subprocess.run(
        [*run, "--api-key", KEY], cwd=MODULE_DIR, capture_output=True, text=True, timeout=60
    )
    assert flag.returncode == 2 and "unrecognized arguments" in flag.stderr
    helped = subprocess.run(
        [*run, "--help"], cwd=MODULE_DIR, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and "api-key" not in helped.stdout
    short = subprocess.run(
        run,
        cwd=MODULE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SERVE_API_KEY": "short-secret"},
    )
    assert short.returncode == 2 and short.stderr.count("\n") == 1
    assert "SERVE_API_KEY" in short.stderr and "short-secret" not in short.stderr
