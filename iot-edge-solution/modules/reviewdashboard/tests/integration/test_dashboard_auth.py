"""Sign-in with DASHBOARD_TOKEN: over HTTP, in Chromium, and as a real process.

The dashboard runs for real on a real Azurite seeded by the archive sink; only the
session/limit unit tests at the end inject a clock (to step over a minute instantly).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import azurite_harness
import dashboard_server
import ports
import pytest
from dashboard_server import call, sign_in

from reviewdashboard.auth import COOKIE, FailureLimit, Sessions
from reviewdashboard.config import ConfigError, load

TOKEN = secrets.token_hex(16)
MODULE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parents[5] / "test-artifacts"
CS = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://h/a;"
HTML = "text/html,application/xhtml+xml"


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    with azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server:
        dashboard_server.seed(server.connection_string, frames=4)
        yield server


@pytest.fixture(scope="module")
def base(azurite):
    with dashboard_server.serving(azurite.connection_string, DASHBOARD_TOKEN=TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def frame(base) -> str:
    html = call(f"{base}/c/annotated", session=sign_in(base, TOKEN)).text
    return re.findall(r'href="/c/annotated/f/([^"]+)"', html)[0]


def protected(frame: str) -> list[str]:
    return [
        "/",
        "/c/annotated",
        "/c/lowconf?source=cam",
        f"/c/annotated/f/{frame}",
        f"/images/annotated/{frame}",
        f"/thumbs/annotated/{frame}",
        "/api/counters",
        "/static/live.js",
        "/c/unknown-container",
        "/no-such-page",
    ]


def test_without_a_session_only_sign_in_and_health_answer(base, frame):
    for path in protected(frame):
        page = call(base + path, accept=HTML)
        assert page.status == 303, path
        assert page.headers["Location"].startswith("/signin?next=%2F")
        other = call(base + path)
        assert other.status == 401 and frame.encode() not in other.body, path
        assert call(base + path, session="forged-" + secrets.token_urlsafe(32)).status == 401
        assert call(base + path, session=TOKEN).status == 401  # the token is no cookie
    assert call(f"{base}/healthz").body == b"ok"
    form = call(f"{base}/signin?next=/c/lowconf")
    assert form.status == 200 and 'name=token' in form.text
    assert 'name=next value="/c/lowconf"' in form.text
    assert "form-action 'self'" in form.headers["Content-Security-Policy"]
    assert call(f"{base}/static/style.css").status == 200


def test_sign_in_gives_a_strict_http_only_session_that_opens_everything(base, frame):
    reply = call(f"{base}/signin", "POST", {"token": TOKEN, "next": "/c/lowconf"})
    assert reply.status == 303 and reply.headers["Location"] == "/c/lowconf"
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and TOKEN not in cookie
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "path=/" in attributes and "max-age=43200" in attributes
    session = cookie.split(";")[0].split("=", 1)[1]
    assert len(session) >= 40
    for path in protected(frame)[:8]:
        assert call(base + path, session=session).status == 200, path
    assert call(f"{base}/c/unknown-container", session=session).status == 404
    assert b"Sign out" in call(f"{base}/", session=session).body


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/c/annotated?source=x", "/c/annotated?source=x"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_sign_in_only_returns_to_local_paths(base, target, expected):
    reply = call(f"{base}/signin", "POST", {"token": TOKEN, "next": target})
    assert reply.status == 303 and reply.headers["Location"] == expected


def test_wrong_token_is_401_and_sign_out_ends_the_session(base):
    wrong = call(f"{base}/signin", "POST", {"token": TOKEN[:-1] + "x"})
    assert wrong.status == 401 and "Wrong token" in wrong.text
    assert "Set-Cookie" not in wrong.headers
    session = sign_in(base, TOKEN)
    assert call(f"{base}/", session=session).status == 200
    out = call(f"{base}/signout", "POST", session=session)
    assert out.status == 303 and out.headers["Location"] == "/signin"
    assert 'dashboard_session=""' in out.headers["Set-Cookie"]
    assert call(f"{base}/", session=session).status == 401  # ended on the server too
    assert call(f"{base}/signout", session=session).status == 401  # GET is no sign-out


def test_failed_sign_ins_are_limited_per_address(azurite):
    """Finding 8: past the limit wrong tokens get 429, but the right token still signs in
    (before: refused too, so one client could lock out everyone sharing its address)."""
    with dashboard_server.serving(
        azurite.connection_string, DASHBOARD_TOKEN=TOKEN, DASHBOARD_SIGNIN_LIMIT="3"
    ) as url:
        for _ in range(3):
            assert call(f"{url}/signin", "POST", {"token": "guess"}).status == 401
        limited = call(f"{url}/signin", "POST", {"token": "guess"})
        assert limited.status == 429 and "Too many failed sign-ins" in limited.text
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "Set-Cookie" not in limited.headers
        allowed = call(f"{url}/signin", "POST", {"token": TOKEN})
        assert allowed.status == 303 and allowed.headers["Set-Cookie"].startswith(COOKIE)
        assert call(f"{url}/healthz").status == 200


def test_browser_signs_in_and_out(azurite, base, frame):
    with dashboard_server.chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/c/annotated", wait_until="networkidle")
        assert page.url == f"{base}/signin?next=%2Fc%2Fannotated"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review-dashboard-signin.png"))
        page.fill("#token", "not-the-token")
        page.click("#submit")
        page.wait_for_load_state("networkidle")
        assert "Wrong token" in page.inner_text("#error")
        page.fill("#token", TOKEN)
        page.click("#submit")
        page.wait_for_load_state("networkidle")
        assert page.url == f"{base}/c/annotated"
        widths = page.eval_on_selector_all("img.thumb", "els => els.map(e => e.naturalWidth)")
        assert len(widths) == 2 and all(w > 0 for w in widths), widths
        cookies = page.context.cookies()
        assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
            (COOKIE, True, "Strict")
        ]
        assert cookies[0]["value"] != TOKEN and page.evaluate("document.cookie") == ""
        page.click("#signout")
        page.wait_for_load_state("networkidle")
        assert page.url == f"{base}/signin" and page.context.cookies() == []
        page.goto(f"{base}/images/annotated/{frame}")
        assert page.url.startswith(f"{base}/signin?next=") and page.locator("#token").count()
        assert TOKEN not in page.content()
        page.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "dashboard.example"])
def test_off_loopback_a_token_is_required(host):
    with pytest.raises(ConfigError, match="DASHBOARD_TOKEN is not set"):
        load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_HOST": host})
    settings = load(
        {
            "DASHBOARD_STORAGE_CONNECTION_STRING": CS,
            "DASHBOARD_HOST": host,
            "DASHBOARD_TOKEN": TOKEN,
        }
    )
    assert settings.token == TOKEN and TOKEN not in repr(settings)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_on_loopback_no_token_is_needed(host):
    settings = load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_HOST": host})
    assert settings.token == ""


def test_short_token_is_refused_without_echoing_it():
    with pytest.raises(ConfigError, match="DASHBOARD_TOKEN is too short") as caught:
        load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_TOKEN": "hunter2-secret"})
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError, match="unexpanded template variable"):
        load(
            {
                "DASHBOARD_STORAGE_CONNECTION_STRING": CS,
                "DASHBOARD_HOST": "0.0.0.0",
                "DASHBOARD_TOKEN": "${DASHBOARD_TOKEN}",
            }
        )
    with pytest.raises(ConfigError, match="DASHBOARD_SIGNIN_LIMIT"):
        load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS, "DASHBOARD_SIGNIN_LIMIT": "0"})


def run_main(env: dict[str, str]) -> subprocess.Popen:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DASHBOARD_")}
    return subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=MODULE_DIR,
        text=True,
        env={**inherited, "DASHBOARD_STORAGE_CONNECTION_STRING": CS, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_process_refuses_an_open_public_address_in_one_line():
    proc = run_main({"DASHBOARD_HOST": "0.0.0.0"})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and err.startswith("error: DASHBOARD_TOKEN is not set")


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline and proc.poll() is None, "dashboard did not start"
        try:
            if call(f"http://127.0.0.1:{port}/healthz").status == 200:
                return
        except OSError:
            time.sleep(0.1)


@pytest.mark.parametrize(
    "token, says",
    [
        ("", "DASHBOARD_TOKEN is not set: the dashboard is open"),
        (TOKEN, "sign-in required"),
    ],
    ids=["no-token", "token"],  # fixed ids: the token is random, each process must agree
)
def test_process_on_loopback_says_whether_it_is_open(token, says):
    port = ports.free_port()
    proc = run_main({"DASHBOARD_PORT": str(port), "DASHBOARD_TOKEN": token})
    try:
        lines = [proc.stderr.readline() for _ in range(2)]
        assert says in lines[1], lines
        assert TOKEN not in "".join(lines)
        wait_listening(port, proc)
        status = call(f"http://127.0.0.1:{port}/", accept=HTML).status
        assert status == (303 if token else 200)
    finally:
        proc.terminate()
        proc.wait(30)


def test_failure_window_and_session_expiry_follow_the_clock():
    now = [1000.0]
    limit = FailureLimit(2, clock=lambda: now[0])
    limit.fail("a")
    now[0] += 30
    limit.fail("a")
    assert limit.retry_after("a") == 30 and limit.retry_after("b") == 0
    now[0] += 30
    assert limit.retry_after("a") == 0  # the first failure left the window
    sessions = Sessions(60, clock=lambda: now[0])
    session = sessions.create()
    assert sessions.valid(session) and not sessions.valid(session + "x")
    now[0] += 61
    assert not sessions.valid(session)
