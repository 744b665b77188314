"""Security findings on the HTTP service, each checked on a real `main.py serve` process."""

from __future__ import annotations

import http.client
import json
import queue
import re
import socket
import subprocess
import sys
import time

import crafted_images as crafted
import cv2
import pytest
from serve_helpers import MODULE_DIR, PAGE_PNG, ServerProcess, page_jpeg, request

MiB = 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM), bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def srv():
    server = ServerProcess({"SERVE_QUEUE_SIZE": "4"})
    try:
        yield server.start()
    finally:
        assert server.stop() == 0, "".join(server.log)


@pytest.mark.parametrize("side", [12000, 40000])
@pytest.mark.slow
def test_hidden_jpeg_frame_is_413_at_once_without_memory(srv, side):
    """Finding 1 (HIGH): the 710-byte JPEG libjpeg decodes as side x side (frame header
    hidden behind FF 00) is answered 413 from its header, at once, without the service's
    peak memory moving (before: 400 after 2 s and +825 MB at 12000; a 500 with a
    traceback at 40000)."""
    before, logged = peak_rss(srv.proc.pid), len(srv.log)
    start = time.perf_counter()
    reply = request(
        srv.port,
        "POST",
        "/score",
        crafted.hidden_sof_jpeg(side, side),
        {"Content-Type": "image/jpeg"},
    )
    took = time.perf_counter() - start
    assert reply.status == 413, reply.body
    assert reply.json()["code"] == "image_too_large"
    assert took < 1.0
    assert peak_rss(srv.proc.pid) - before < 100 * MiB
    assert request(srv.port, "GET", "/v2/health/ready").status == 200
    assert not any("Traceback" in line for line in srv.log[logged:])


@pytest.mark.slow
def test_serve_caps_opencv_decoding_at_serve_max_pixels():
    """Finding 1 (defence in depth): under `serve`, OpenCV itself refuses to decode an
    image over SERVE_MAX_PIXELS (OPENCV_IO_MAX_IMAGE_PIXELS is set before cv2 loads),
    and the service maps its refusal to 413; `detect` keeps OpenCV's default."""
    script = (
        "import sys; sys.argv = ['main.py', sys.argv[1]]\n"
        "import textdetector, cv2, numpy as np\n"
        "from textdetector.serve.decode import ImageHeader, decode\n"
        "from textdetector.serve.errors import RequestError\n"
        "data = cv2.imencode('.jpg', np.zeros((1200, 1000), np.uint8))[1].tobytes()\n"
        "try:\n"
        "    print(decode(data, ImageHeader('jpeg', 1000, 1200)).shape[:2])\n"
        "except RequestError as exc:\n"
        "    print(exc.status)\n"
    )
    env = {"SERVE_MAX_PIXELS": "1000000", "PATH": "/usr/bin:/bin"}

    def run(command: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", script, command],
            cwd=MODULE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()

    assert run("serve") == "413"
    assert run("detect") == "(1200, 1000)"


TIGHT_BODY = 8 * MiB
TIGHT = {
    "SERVE_MAX_BODY_BYTES": str(TIGHT_BODY),
    "SERVE_WORKERS": "1",
    "SERVE_QUEUE_SIZE": "2",
    "SERVE_READ_TIMEOUT": "1",
    "SERVE_HEADER_TIMEOUT": "1",
    "SERVE_MAX_CONNECTIONS": "60",
    "SERVE_ALLOWED_HOSTS": "textdetector",
}


@pytest.fixture(scope="module")
def tight():
    """A service with small budgets: 3 places (1 worker + 2 queued), 8 MiB bodies."""
    server = ServerProcess(TIGHT)
    try:
        yield server.start()
    finally:
        assert server.stop() == 0, "".join(server.log)


def raw_connection(port: int, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def answer(sock: socket.socket) -> tuple[int, bytes, bool]:
    """Status, body and whether the server then closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return 0, b"", True
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:  # closed with the client's bytes unread
        closed = True
    except TimeoutError:
        closed = False
    return int(head.split()[1]), body, closed


def stalled_upload(port: int, declared: int, sent: int) -> socket.socket:
    sock = raw_connection(port)
    sock.sendall(
        f"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {declared}\r\n\r\n".encode()
    )
    sock.sendall(b"\xff" * sent)
    return sock


@pytest.mark.slow
def test_stalled_uploads_hold_at_most_the_pool_budget(tight):
    """Finding 2 (MEDIUM): 40 uploads stalled 1 MiB short of the body limit. A place in the
    pool is taken before a body is read, so at most workers + queue (3) bodies are held:
    the rest get 503 at once; the held ones get 408 after SERVE_READ_TIMEOUT and are
    closed. Peak memory grows by at most that budget (before: every body was read,
    +40 bodies, and the connections stayed open)."""
    before = peak_rss(tight.proc.pid)
    socks = [stalled_upload(tight.port, TIGHT_BODY, TIGHT_BODY - MiB) for _ in range(40)]
    start = time.perf_counter()
    results = [answer(sock) for sock in socks]
    took = time.perf_counter() - start
    for sock in socks:
        sock.close()
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(408) <= 3 and statuses.count(503) >= 37, statuses
    assert set(statuses) <= {408, 503}
    assert all(closed for status, _, closed in results if status == 408)
    assert took < 8
    assert peak_rss(tight.proc.pid) - before < 3 * TIGHT_BODY + 40 * MiB
    assert request(tight.port, "GET", "/v2/health/ready").status == 200


@pytest.mark.slow
def test_dribbled_headers_and_idle_connections_are_closed(tight):
    """Finding 4 (LOW/MEDIUM): 30 connections dribbling header lines, no key needed, are
    closed after SERVE_HEADER_TIMEOUT (before: kept open indefinitely)."""
    socks = [raw_connection(tight.port) for _ in range(30)]
    for sock in socks:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    deadline = time.monotonic() + 6
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        for sock in list(open_):
            try:
                sock.sendall(b"X-Dribble: 1\r\n")
            except OSError:
                open_.remove(sock)
        time.sleep(0.3)
    for sock in socks:
        sock.close()
    assert not open_, f"{len(open_)} of 30 dribbling connections still open after 6 s"


def test_connections_over_the_cap_get_json_503(tight):
    """Finding 4: beyond SERVE_MAX_CONNECTIONS (60) a new connection is answered 503 in
    JSON and closed (before: no cap)."""
    socks = [raw_connection(tight.port) for _ in range(60)]
    try:
        time.sleep(0.2)
        extra = raw_connection(tight.port)
        extra.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, body, closed = answer(extra)
        extra.close()
    finally:
        for sock in socks:
            sock.close()
    assert status == 503 and closed
    assert json.loads(body)["code"] == "too_many_connections"


def test_multipart_parts_all_count_against_the_body_limit(tight):
    """Finding 7: a chunked multipart upload whose non-image part is 3x the body limit is
    refused with 413 (before: the part was skipped uncounted and the upload got 200)."""
    boundary = "hardening"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n").encode()
    image = crafted.jpeg(32, 32)
    tail = (
        (
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"imageData\"; "
            f"filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + (f"\r\n--{boundary}--\r\n").encode()
    )

    def body():
        yield head
        for _ in range(3 * TIGHT_BODY // MiB):
            yield b"n" * MiB
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", tight.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/image",
            body=body(),
            encode_chunked=True,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Transfer-Encoding": "chunked",
            },
        )
        reply = conn.getresponse()
        status, data = reply.status, reply.read()
    except (BrokenPipeError, ConnectionResetError):
        status, data = 413, b'{"code": "payload_too_large"}'  # refused while sending
    finally:
        conn.close()
    assert status == 413, data
    assert json.loads(data)["code"] == "payload_too_large"


SECRET = "k3y-in-a-header-0123456789"


@pytest.mark.parametrize(
    "headers,code",
    [
        ({"X-API-Key": SECRET + "x" * 9000}, "header_too_large"),
        ({f"X-H{i}": SECRET for i in range(200)}, "too_many_headers"),
    ],
)
@pytest.mark.slow
def test_unparsable_headers_get_json_and_are_not_logged(tight, headers, code):
    """Finding 7: a header field over aiohttp's size, or too many fields, is answered in
    the service's JSON error format, and the log names the error without echoing the
    request's bytes (before: plain text, and an ERROR traceback quoting the header)."""
    logged = len(tight.log)
    reply = request(tight.port, "POST", "/score", b"x", headers)
    assert reply.status == 400
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["code"] == code
    request(tight.port, "GET", "/v2/health/live")
    drain(tight)
    lines = tight.log[logged:]
    assert not any(SECRET in line or "Traceback" in line for line in lines), lines


def drain(server: ServerProcess, wait: float = 0.3) -> None:
    """Move every stderr line the server has written so far into `server.log`."""
    time.sleep(wait)
    while True:
        try:
            server.log.append(server.lines.get_nowait())
        except queue.Empty:
            return


@pytest.mark.slow
def test_libjpeg_warnings_stay_off_stderr(tight):
    """Finding 7: a JPEG whose scan data is cut short still decodes, but libjpeg's
    "Corrupt JPEG data" warning goes to the log at DEBUG, not raw to stderr (before:
    printed on every such request)."""
    data = page_jpeg()
    cut = data[: len(data) // 2] + b"\xff\xd9"
    logged = len(tight.log)
    reply = request(tight.port, "POST", "/score", cut, {"Content-Type": "image/jpeg"})
    assert reply.status in (200, 204), reply.body
    drain(tight)
    assert not any("JPEG" in line for line in tight.log[logged:]), tight.log[logged:]


@pytest.mark.slow
def test_queue_place_stays_taken_until_a_timed_out_worker_finishes():
    """Finding 7: after a 504 the worker is still running; its place stays taken until it
    finishes, so the queue cannot overrun: with 1 worker and no queue, a request that
    timed out leaves no room and the next gets 503 at once (before: the place was freed
    at the 504, the next request was queued behind the busy worker and timed out too)."""
    big = cv2.imencode(".png", cv2.resize(cv2.imread(str(PAGE_PNG)), (3000, 1500)))[1].tobytes()
    server = ServerProcess(
        {
            "SERVE_WORKERS": "1",
            "SERVE_QUEUE_SIZE": "0",
            "SERVE_REQUEST_TIMEOUT": "0.1",
            "SERVE_MAX_PIXELS": "5000000",
        }
    )
    try:
        server.start()
        first = request(server.port, "POST", "/score", big)
        second = request(server.port, "POST", "/score", big)
    finally:
        assert server.stop() == 0, "".join(server.log)
    assert first.status == 504
    assert second.status == 503 and second.json()["code"] == "queue_full"


@pytest.mark.parametrize(
    "host,allowed",
    [
        ("evil.example", False),
        ("evil.example:8080", False),
        ("127.0.0.1.evil.example", False),
        ("localhost", True),
        ("127.0.0.1:8080", True),
        ("[::1]:8080", True),
        ("textdetector:8080", True),
        ("TEXTDETECTOR", True),
    ],
)
def test_keyless_service_checks_the_host_header(tight, host, allowed):
    """Finding 6 (LOW): without SERVE_API_KEY, on loopback, a request naming another host
    (a page that rebound its DNS name to 127.0.0.1) gets 403 in JSON; loopback names,
    SERVE_HOST and SERVE_ALLOWED_HOSTS pass; health probes always answer (before: every
    Host was served)."""
    reply = request(tight.port, "GET", "/v2", headers={"Host": host})
    if allowed:
        assert reply.status == 200, reply.body
    else:
        assert reply.status == 403 and reply.json()["code"] == "host_not_allowed"
    assert request(tight.port, "GET", "/v2/health/live", headers={"Host": host}).status == 200


def test_cut_multipart_part_header_is_400_not_500(tight):
    """Found by fuzzing (test_fuzz_multipart_bodies): a multipart body cut inside a part's
    header line made aiohttp raise InvalidHeader, answered 500 with a traceback (the
    header bytes in it); now 400 invalid_multipart, nothing echoed in the log."""
    logged = len(tight.log)
    reply = request(
        tight.port,
        "POST",
        "/image",
        b"--0\r\nC" + SECRET.encode(),
        {"Content-Type": "multipart/form-data; boundary=0"},
    )
    assert reply.status == 400 and reply.json()["code"] == "invalid_multipart"
    drain(tight)
    lines = tight.log[logged:]
    assert not any(SECRET in line or "Traceback" in line for line in lines), lines
