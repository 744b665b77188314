"""GET /preview (a page of every source's stream) and GET /preview.mjpg?source=N.

Runs on the health server's request threads (one per connection). A stream writes
multipart/x-mixed-replace JPEG parts at most PREVIEW_FPS a second, always the newest
frame: a slow viewer misses frames, it never builds a backlog (the kernel's send buffer
is kept to about two frames). A viewer that stops reading is dropped once a write has
waited SEND_TIMEOUT_S; it only ever holds its own
thread, never the run loop or the other viewers.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from html import escape
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode

from .access import PreviewAccess, Refusal, presented
from .hub import PreviewHub

log = logging.getLogger(__name__)

PATHS = frozenset({"/preview", "/preview.mjpg"})
BOUNDARY = "frame"
SEND_TIMEOUT_S = 10.0
SEND_BUFFER = 256 * 1024  # bytes the kernel holds for a viewer: about two 720p frames
PAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


class Preview:
    """The preview routes of one health server."""

    def __init__(self, hub: PreviewHub, access: PreviewAccess) -> None:
        self.hub, self.access = hub, access

    def announce(self, host: str, port: int) -> None:
        """One log line at start: where to watch, or why the preview is off."""
        access = self.access
        if access.enabled:
            need = " (with PREVIEW_TOKEN)" if access.token else ""
            log.info("live preview on http://%s:%d/preview%s", host, port, need)
        elif access.off_reason.endswith("not set"):
            log.warning("%s", access.off_reason)

    def handle(self, handler: BaseHTTPRequestHandler, path: str, query: str) -> None:
        params = parse_qs(query, keep_blank_values=True)
        token = params.get("token", [""])[0]
        refusal = self.access.refusal(
            handler.headers.get("Host", ""), handler.headers.get("Authorization", ""), token
        )
        if refusal is not None:
            send_line(handler, refusal)
        elif path == "/preview":
            carried = presented(handler.headers.get("Authorization", ""), token)
            self.page(handler, carried if self.access.token else "")
        else:
            self.stream(handler, params)

    def page(self, handler: BaseHTTPRequestHandler, token: str) -> None:
        """The sources, each an <img> of its stream; with a token, the <img> URLs carry
        it (an <img> cannot send a header), whichever way the page got it."""
        sources = self.hub.sources()
        extra = {"token": token} if token else {}
        figures = "".join(
            f'<figure><img src="/preview.mjpg?{escape(urlencode({"source": i, **extra}))}" '
            f'alt="{escape(sid)}" data-source="{i}"><figcaption>{escape(sid)}</figcaption>'
            "</figure>"
            for i, sid in enumerate(sources)
        )
        waiting = "" if sources else "<meta http-equiv=refresh content=2>"
        body = figures or "<p>No frame yet: this page reloads until the first one.</p>"
        html = (
            f"<!doctype html><html lang=en><head><meta charset=utf-8>{waiting}"
            "<title>textdetector preview</title><style>body{font-family:sans-serif;margin:0;"
            "background:#111;color:#eee}figure{margin:.5rem;display:inline-block}"
            "img{max-width:100%;display:block}</style></head><body>"
            f"{body}</body></html>"
        )
        data = html.encode("utf-8")
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Content-Security-Policy", PAGE_CSP)
        private_headers(handler)
        handler.end_headers()
        handler.wfile.write(data)

    def stream(self, handler: BaseHTTPRequestHandler, params: dict[str, list[str]]) -> None:
        index, refusal = self.source_index(params)
        if refusal is not None:
            send_line(handler, refusal)
            return
        feed = self.hub.feed(index)
        assert feed is not None
        if not self.hub.join():
            send_line(
                handler,
                Refusal(
                    503,
                    f"too many preview viewers (PREVIEW_MAX_CLIENTS={self.hub.max_clients}); "
                    "try again later",
                ),
            )
            return
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            private_headers(handler)
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.connection.settimeout(SEND_TIMEOUT_S)
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            self._parts(handler, feed)
        except OSError as exc:  # the viewer left, or stopped reading (send timeout)
            log.debug("preview viewer of %s dropped: %s", feed.source_id, exc)
        finally:
            handler.close_connection = True
            self.hub.leave()

    def _parts(self, handler: BaseHTTPRequestHandler, feed) -> None:
        """Write the newest JPEG at most once per interval until the run or viewer ends."""
        hub, serial, due = self.hub, 0, time.monotonic()
        while not hub.closed.is_set():
            try:
                encoded = feed.newer_than(serial, hub.interval_s, hub.drawer)
            except Exception as exc:  # a frame that cannot be drawn ends this stream only
                log.error("preview of %s stopped: %s", feed.source_id, exc)
                return
            if encoded is not None:
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(encoded.jpeg)}\r\n\r\n"
                ).encode("ascii")
                handler.wfile.write(head + encoded.jpeg + b"\r\n")
                serial = encoded.serial
            due = max(due + hub.interval_s, time.monotonic())
            if left(handler.connection, due - time.monotonic()):
                return

    def source_index(self, params: dict[str, list[str]]) -> tuple[int, Refusal | None]:
        """`source=N` as a known source's index, or why not (400/404)."""
        raw = params.get("source", [""])[0].strip()
        count = len(self.hub.sources())
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
            return -1, Refusal(
                400, f"source must be a source number 0..{max(count - 1, 0)}: see /preview"
            )
        if int(raw) >= count:
            return -1, Refusal(
                404, f"no source {int(raw)}: {count} source(s) delivered frames; see /preview"
            )
        return int(raw), None


def left(conn: socket.socket, wait_s: float) -> bool:
    """Wait up to `wait_s`; True as soon as the viewer closed its end (its slot frees
    at once, not at the next failed write). Bytes it sends meanwhile are discarded."""
    readable, _, _ = select.select([conn], [], [], max(0.0, wait_s))
    return bool(readable) and not conn.recv(4096)


def private_headers(handler: BaseHTTPRequestHandler) -> None:
    """Never cached, never leaking the URL (and a token in it) to another site."""
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("Referrer-Policy", "no-referrer")
    handler.send_header("X-Content-Type-Options", "nosniff")


def send_line(handler: BaseHTTPRequestHandler, refusal: Refusal) -> None:
    data = (refusal.message + "\n").encode("utf-8")
    handler.send_response(refusal.status)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("Cache-Control", "no-store")
    if refusal.status == 401:
        handler.send_header("WWW-Authenticate", 'Bearer realm="preview"')
    if refusal.status == 503:
        handler.send_header("Retry-After", "5")
    handler.end_headers()
    handler.wfile.write(data)
