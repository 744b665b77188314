"""The dashboard over HTTP against a real Azurite seeded by the archive sink."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import azurite_harness
import cv2
import dashboard_server
import numpy as np
import pytest

CREDENTIALS = ("SharedAccessSignature", "sig=", "AccountKey", "DefaultEndpointsProtocol")


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    with azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server:
        dashboard_server.seed(server.connection_string, frames=12)
        yield server


@pytest.fixture(scope="module")
def base(azurite):
    with dashboard_server.serving(
        azurite.connection_string, DASHBOARD_PAGE_SIZE="4", DASHBOARD_COUNTER_INTERVAL="0.1"
    ) as url:
        yield url


def get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def assert_clean(azurite, headers: dict, body: bytes) -> None:
    text = body.decode("latin-1") + json.dumps(headers)
    for secret in (azurite.key, azurite.connection_string) + CREDENTIALS:
        assert secret not in text


def frames_on(html: str) -> list[str]:
    return re.findall(r'href="/c/annotated/f/([^"]+)"', html)


def test_listing_pages_newest_first_with_continuation_tokens(azurite, base):
    seen, url, pages = [], f"{base}/c/annotated", 0
    while url:
        status, headers, body = get(url)
        assert status == 200
        assert_clean(azurite, headers, body)
        html = body.decode()
        names = frames_on(html)
        assert 0 < len(names) <= 4  # one service page per request here
        seen += names
        pages += 1
        nxt = re.search(r'id=next href="([^"]+)"', html)
        url = base + nxt.group(1).replace("&amp;", "&") if nxt else None
    assert pages == 2
    assert len(seen) == len(set(seen)) == 6
    assert seen == sorted(seen)  # inverted timestamps: ascending names = newest first
    assert "TEXT" not in html and "cam-north" in html


def test_filters_by_source_and_time(base):
    status, _, body = get(f"{base}/c/annotated?source=SOUTH")
    assert status == 200 and "cam-north" not in body.decode()
    assert len(frames_on(body.decode())) == 3  # frames 6, 8, 10
    # frames were archived one minute apart from 2027-01-15T08:00:00Z
    status, _, body = get(f"{base}/c/annotated?since=2027-01-15T08:02&until=2027-01-15T08:06")
    assert status == 200
    html = body.decode()
    assert len(frames_on(html)) == 3 and "id=next" not in html  # frames 2, 4, 6
    assert "08:06:00 UTC" in html and "08:00:00 UTC" not in html


def test_index_health_and_static(base):
    status, _, body = get(f"{base}/")
    assert status == 200 and b'href="/c/lowconf"' in body
    assert get(f"{base}/healthz")[2] == b"ok"
    assert b"setInterval" in get(f"{base}/static/live.js")[2]


def test_bad_requests_are_short_4xx(base):
    assert get(f"{base}/c/secret-container")[0] == 404
    assert get(f"{base}/c/annotated?since=yesterday")[0] == 400
    assert get(f"{base}/c/annotated/f/..%2Fetc")[0] in (400, 404)
    assert get(f"{base}/images/annotated/0000000000000_missing_00000000.jpg")[0] == 404
    assert get(f"{base}/c/annotated?page=bogus-token")[0] in (200, 400)


def test_detail_images_thumbnails_and_counters(azurite, base):
    name = frames_on(get(f"{base}/c/annotated")[2].decode())[0]
    status, headers, body = get(f"{base}/c/annotated/f/{name}")
    assert status == 200 and body.decode().count("<polygon") == 2
    assert "0.950" in body.decode()
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, headers, full = get(f"{base}/images/annotated/{name}")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    status, _, small = get(f"{base}/thumbs/annotated/{name}")
    image = cv2.imdecode(np.frombuffer(full, np.uint8), cv2.IMREAD_COLOR)
    thumb = cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (240, 320) and max(thumb.shape[:2]) <= 320
    status, headers, body = get(f"{base}/api/counters")
    data = json.loads(body)["containers"]
    assert set(data) == {"annotated", "lowconf"}
    assert data["annotated"]["newest"].startswith("2027-01-15T08:10")
    assert data["annotated"]["last_hour"] == 6 and data["lowconf"]["last_hour"] == 6
    assert_clean(azurite, headers, body)


def test_storage_down_is_a_503_not_a_traceback(azurite, base):
    azurite.stop()
    try:
        status, headers, body = get(f"{base}/c/lowconf")
    finally:
        azurite.start()
    assert status == 503 and b"Traceback" not in body
    assert_clean(azurite, headers, body)
