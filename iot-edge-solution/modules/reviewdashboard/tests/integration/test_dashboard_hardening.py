"""Security findings on the review dashboard, against a real Azurite seeded by the
archive sink; memory is measured on the dashboard as a real process (`main.py`)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import azurite_harness
import cv2
import dashboard_server
import numpy as np
import ports
import pytest
from dashboard_server import Reply, sign_in

from reviewdashboard.auth import COOKIE

TOKEN = secrets.token_hex(16)
MODULE_DIR = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
CONTAINER_LIMIT = 256 * MiB  # the dashboard's memory limit in the deployment
BIG_NAMES = [f"{9_999_999_999_999 - 1_800_000_000_000 - i:013d}_big-{i}.jpg" for i in range(4)]
BROKEN_NAME = f"{9_999_999_999_999 - 1_700_000_000_000:013d}_broken.jpg"
# Found by fuzzing (test_dashboard_fuzz): Pillow raises SyntaxError on this PNG.
BROKEN_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x0c\x08\x00"
    b"\x00\x00\x00N\x8cb]\x00\x00\x00\x00IDATx\x9cc`\x18>\x00\x00\x00\xcc\x00\x01"
    b"e\xf4\xe7b\x00\x00\x00\x00IEND\xaeB`\x82"
)  # IDAT length zeroed


def big_jpeg(side: int = 8000) -> bytes:
    """A ~1 MB side x side JPEG (a coarse random pattern, smoothly upscaled)."""
    rng = np.random.default_rng(3)
    image = cv2.resize(
        rng.integers(0, 255, (side // 80, side // 80, 3), np.uint8),
        (side, side),
        interpolation=cv2.INTER_LINEAR,
    )
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 10])
    assert ok
    return data.tobytes()


def archive_big_frames(connection_string: str) -> None:
    """Put 8000x8000 JPEGs in the archive, with the metadata of a frame the sink wrote."""
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(connection_string).get_container_client(
        "annotated"
    )
    first = next(iter(container.list_blobs(include=["metadata"])))
    data = big_jpeg()
    assert 0.7 * MiB < len(data) < 1.6 * MiB
    for name in BIG_NAMES:
        container.upload_blob(name, data, overwrite=True, metadata=first.metadata)
    container.upload_blob(BROKEN_NAME, BROKEN_PNG, overwrite=True, metadata=first.metadata)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    with azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server:
        dashboard_server.seed(server.connection_string, frames=4)
        archive_big_frames(server.connection_string)
        yield server


@pytest.fixture(scope="module")
def base(azurite):
    with dashboard_server.serving(azurite.connection_string, DASHBOARD_TOKEN=TOKEN) as url:
        yield url


def send(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Reply:
    """One request with any headers (Host, Origin, ...); redirects not followed."""
    parts = urllib.parse.urlsplit(url)
    body = urllib.parse.urlencode(form) if form is not None else None
    all_headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            method,
            parts.path + (f"?{parts.query}" if parts.query else ""),
            body=body,
            headers={**all_headers, **(headers or {})},
        )
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))


def start_dashboard(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = ports.free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DASHBOARD_")}
    proc = subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=MODULE_DIR,
        env={**inherited, "DASHBOARD_PORT": str(port), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, "dashboard did not start"
        try:
            if send(f"{url}/healthz").status == 200:
                return proc, url
        except OSError:
            time.sleep(0.1)


def test_big_jpegs_in_the_archive_keep_the_process_under_its_limit(azurite):
    """Finding 3 (MEDIUM): four 1 MB 8000x8000 JPEGs in the archive, the listing and all
    their thumbnails and originals asked for at once: the dashboard process stays under
    its 256 MiB container limit (before: one thumbnail took it from 61 to 555 MiB).
    Thumbnails decode at a reduced JPEG scale, a few at a time."""
    proc, url = start_dashboard({"DASHBOARD_STORAGE_CONNECTION_STRING": azurite.connection_string})
    try:
        listing = send(f"{url}/c/annotated")
        assert listing.status == 200 and BIG_NAMES[0] in listing.text
        paths = [f"/thumbs/annotated/{n}" for n in BIG_NAMES] + [
            f"/images/annotated/{n}" for n in BIG_NAMES
        ]
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda path: send(url + path), paths))
        peak = peak_rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    assert [r.status for r in replies] == [200] * 8
    thumb = cv2.imdecode(np.frombuffer(replies[0].body, np.uint8), cv2.IMREAD_COLOR)
    assert max(thumb.shape[:2]) == 320
    assert peak < CONTAINER_LIMIT, f"peak {peak / MiB:.0f} MiB"


def test_blob_size_and_pixel_caps(azurite):
    """Finding 3: a blob over DASHBOARD_MAX_IMAGE_BYTES is 413 without being read whole;
    an image over DASHBOARD_MAX_PIXELS gets no thumbnail (415) (before: both served)."""
    small_cap = {"DASHBOARD_MAX_IMAGE_BYTES": str(512 * 1024)}
    with dashboard_server.serving(azurite.connection_string, **small_cap) as url:
        assert send(f"{url}/images/annotated/{BIG_NAMES[0]}").status == 413
        assert send(f"{url}/thumbs/annotated/{BIG_NAMES[0]}").status == 413
    with dashboard_server.serving(
        azurite.connection_string, DASHBOARD_MAX_PIXELS=str(4000 * 4000)
    ) as url:
        assert send(f"{url}/thumbs/annotated/{BIG_NAMES[1]}").status == 415
        assert send(f"{url}/images/annotated/{BIG_NAMES[1]}").status == 200


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/phish",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/a\\evil",
        "/\x7f/x",
        "/\x00/x",
    ],
)
def test_sign_in_never_redirects_through_control_characters(base, target):
    """Finding 5 (LOW): `next` with a tab, a newline, other control characters or a
    backslash anywhere goes to / (before: '/\\t/evil.example/phish' was kept, and
    browsers strip the tab and leave for evil.example)."""
    reply = send(f"{base}/signin", "POST", form={"token": TOKEN, "next": target})
    assert reply.status == 303 and reply.headers["Location"] == "/"


@pytest.mark.parametrize(
    "host,allowed",
    [
        ("evil.example", False),
        ("evil.example:8090", False),
        ("localhost.evil.example", False),
        ("localhost", True),
        ("127.0.0.1:8090", True),
        ("[::1]:8090", True),
        ("review.lan", True),
    ],
)
def test_tokenless_dashboard_checks_the_host_header(azurite, host, allowed):
    """Finding 6 (LOW): the tokenless (loopback) dashboard refuses a Host header naming
    another site, as a page that rebound its DNS name to 127.0.0.1 sends (before:
    served); loopback names and DASHBOARD_ALLOWED_HOSTS pass, /healthz always."""
    with dashboard_server.serving(
        azurite.connection_string, DASHBOARD_ALLOWED_HOSTS="review.lan"
    ) as url:
        reply = send(f"{url}/c/annotated", headers={"Host": host})
        assert reply.status == (200 if allowed else 403)
        assert send(f"{url}/healthz", headers={"Host": host}).status == 200


def test_sign_in_and_out_from_another_origin_are_refused(base):
    """Finding 8 (LOW): a sign-in or sign-out POST from another site (Sec-Fetch-Site, or
    an Origin naming another host) is refused with 403 (before: only SameSite stood in
    the way); the browser's own form (Sec-Fetch-Site: same-origin) signs in."""
    own = base.replace("http://", "")
    evil = send(
        f"{base}/signin", "POST", {"Origin": "https://evil.example"}, {"token": TOKEN, "next": "/"}
    )
    assert evil.status == 403 and "Set-Cookie" not in evil.headers
    assert send(f"{base}/signin", "POST", {"Origin": "null"}, {"token": TOKEN}).status == 403
    ok = send(f"{base}/signin", "POST", {"Origin": f"http://{own}"}, {"token": TOKEN})
    assert ok.status == 303
    cross = {"Sec-Fetch-Site": "cross-site", "Origin": f"http://{own}"}
    assert send(f"{base}/signin", "POST", cross, {"token": TOKEN}).status == 403
    chromium = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}  # its no-referrer form
    assert send(f"{base}/signin", "POST", chromium, {"token": TOKEN}).status == 303
    session = sign_in(base, TOKEN)
    cookie = {"Cookie": f"{COOKIE}={session}"}
    out = send(f"{base}/signout", "POST", {"Origin": "https://evil.example", **cookie})
    assert out.status == 403
    assert send(f"{base}/", headers=cookie).status == 200  # still signed in


@pytest.mark.parametrize("trust,secure", [("true", True), ("false", False)])
def test_secure_cookie_behind_a_tls_proxy_when_trusted(azurite, trust, secure):
    """Finding 8: with DASHBOARD_TRUST_FORWARDED_PROTO=true, X-Forwarded-Proto: https
    (set by the TLS proxy) marks the session cookie Secure; untrusted, the header is
    ignored (before: Secure only when the request itself came over TLS)."""
    with dashboard_server.serving(
        azurite.connection_string, DASHBOARD_TOKEN=TOKEN, DASHBOARD_TRUST_FORWARDED_PROTO=trust
    ) as url:
        reply = send(
            f"{url}/signin", "POST", {"X-Forwarded-Proto": "https"}, {"token": TOKEN, "next": "/"}
        )
    attributes = [a.strip().lower() for a in reply.headers["Set-Cookie"].split(";")]
    assert reply.status == 303 and ("secure" in attributes) == secure


def test_images_are_not_kept_by_the_browser(base):
    """Finding 8: frames and thumbnails are sent `private, no-store` (before:
    `max-age=86400, immutable`, still shown from the cache after sign-out)."""
    cookie = {"Cookie": f"{COOKIE}={sign_in(base, TOKEN)}"}
    listing = send(f"{base}/c/annotated", headers=cookie).text
    name = re.findall(r'href="/c/annotated/f/([^"]+)"', listing)[0]  # a frame the sink wrote
    for path in (f"/images/annotated/{name}", f"/thumbs/annotated/{name}"):
        reply = send(base + path, headers=cookie)
        assert reply.status == 200
        control = reply.headers["Cache-Control"]
        assert "no-store" in control and "immutable" not in control and "max-age" not in control


def test_broken_blob_gets_415_not_500(base):
    """Found by fuzzing (test_fuzz_thumbnails_of_any_bytes): a damaged PNG in the archive
    made Pillow raise SyntaxError, answered 500 with a traceback; now 415."""
    cookie = {"Cookie": f"{COOKIE}={sign_in(base, TOKEN)}"}
    reply = send(f"{base}/thumbs/annotated/{BROKEN_NAME}", headers=cookie)
    assert reply.status == 415 and b"Traceback" not in reply.body
