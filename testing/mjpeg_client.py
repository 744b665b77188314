"""A small MJPEG (multipart/x-mixed-replace) client: the JPEG parts of a stream, in order.

Reads what a browser's <img> reads: a boundary line, part headers with Content-Length,
the JPEG. Used by the preview tests; `python mjpeg_client.py URL` is the viewer process
of `tools/bench_preview.py` (reads until SIGTERM, then prints the parts it read).
"""

from __future__ import annotations

import http.client
import signal
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stream(
    url: str, timeout_s: float = 10.0, headers: dict[str, str] | None = None
) -> Iterator[http.client.HTTPResponse]:
    """The open response of GET `url` (any status); closed on exit."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    response = None
    try:
        conn.request("GET", f"{parts.path}?{parts.query}", headers=headers or {})
        response = conn.getresponse()
        yield response
    finally:
        if response is not None:
            response.close()  # the socket closes only once the response lets go of it
        conn.close()


def jpeg_parts(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """Each part's body; ends when the server closes the stream."""
    while True:
        line = response.readline()
        if not line:
            return
        if not line.startswith(b"--"):
            continue  # the CRLF after a part
        length = -1
        while True:
            header = response.readline()
            if not header:
                return
            if header in (b"\r\n", b"\n"):
                break
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length < 0:
            raise ValueError("an MJPEG part without Content-Length")
        body = response.read(length)
        if len(body) < length:
            return
        yield body


def read_parts(url: str, count: int, timeout_s: float = 30.0) -> tuple[list[bytes], float]:
    """The first `count` parts of the stream at `url` and the seconds they took."""
    started = time.monotonic()
    found: list[bytes] = []
    with stream(url, timeout_s) as response:
        if response.status != 200:
            raise AssertionError(f"{url}: {response.status} {response.read()[:200]!r}")
        for body in jpeg_parts(response):
            found.append(body)
            if len(found) >= count or time.monotonic() - started > timeout_s:
                break
    return found, time.monotonic() - started


def main(argv: list[str]) -> int:
    """Read the stream at argv[0] until it ends or SIGTERM; print the parts read."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    count = 0
    try:
        with stream(argv[0], 30) as response:
            if response.status != 200:
                print(f"error: {response.status} {response.read()[:200]!r}", file=sys.stderr)
                return 1
            for _ in jpeg_parts(response):
                count += 1
    finally:
        print(count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
