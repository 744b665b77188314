"""Test helpers: seed Azurite, run the dashboard on a thread, talk to it over HTTP or Chromium."""

from __future__ import annotations

import asyncio
import http.client
import itertools
import os
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import azurite_harness
import cv2
import numpy as np
import ports
from aiohttp import web

from reviewdashboard.app import create_app
from reviewdashboard.config import load

SECOND_TEXT = "Gate <B> & 出口, 7%"  # markup, a comma, a percent sign and CJK


def seed(connection_string: str, frames: int = 12, start: float = 1_800_000_000.0) -> None:
    """Archive frames with the textdetector's own sink (the contract under test).

    One frame a minute from `start`; even frames are confident ("annotated"), odd ones
    carry an uncertain region ("lowconf"); the first half come from "cam-north". The
    first box of frame i reads "TEXT i"; the second reads markup and non-ASCII text on
    even frames and nothing on odd ones.
    """
    from textdetector.config import ArchiveSettings
    from textdetector.config import load as load_archive
    from textdetector.results import Detections, FrameResult
    from textdetector.sinks.archive import ArchiveSink

    settings = load_archive(
        ArchiveSettings, {"ARCHIVE_CONNECTION_STRING": connection_string, "ARCHIVE_INTERVAL": "0"}
    )
    clock = itertools.count()
    with ArchiveSink(
        settings, "ch_PP-OCRv4_det_infer.onnx", clock=lambda: start + next(clock) * 60
    ) as sink:
        for i in range(frames):
            image = np.full((240, 320, 3), 250, np.uint8)
            cv2.putText(image, f"TEXT {i}", (20, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
            boxes = np.array(
                [
                    [[15, 45], [230, 45], [230, 105], [15, 105]],
                    [[15, 150], [200, 150], [200, 200], [15, 200]],
                ],
                np.float32,
            )
            scores = np.array([0.95, 0.9 if i % 2 == 0 else 0.7], np.float32)
            source = "cam-north" if i < frames // 2 else "cam-south"
            det = Detections(boxes, scores, (240, 320)).with_texts(
                (f"TEXT {i}", SECOND_TEXT if i % 2 == 0 else ""), np.array([0.97, 0.8], np.float32)
            )
            sink.write(FrameResult(i, float(i), source, det, image=image))
    assert sink.stats().uploaded == frames


@contextmanager
def serving(connection_string: str, **env: str) -> Iterator[str]:
    """Run the dashboard on a free port in a background event loop; yields its base URL."""
    port = ports.free_port()
    settings = load(
        {
            "DASHBOARD_STORAGE_CONNECTION_STRING": connection_string,
            "DASHBOARD_PORT": str(port),
            **env,
        }
    )
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings))
    ready = threading.Event()

    def serve() -> None:  # the whole server lives on this thread's own event loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30), "dashboard did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def call(
    url: str,
    method: str = "GET",
    form: dict[str, str] | None = None,
    session: str | None = None,
    accept: str = "*/*",
) -> Reply:
    """One request, redirects not followed; `session` is sent as the session cookie."""
    from reviewdashboard.auth import COOKIE

    parts = urllib.parse.urlsplit(url)
    headers = {"Accept": accept}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if session is not None:
        headers["Cookie"] = f"{COOKIE}={session}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            method,
            parts.path + (f"?{parts.query}" if parts.query else ""),
            body=body,
            headers=headers,
        )
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def sign_in(base: str, token: str) -> str:
    """Sign in through the form; the session cookie's value."""
    from reviewdashboard.auth import COOKIE

    reply = call(f"{base}/signin", "POST", {"token": token, "next": "/"})
    assert reply.status == 303, reply.text
    cookie = reply.headers["Set-Cookie"]
    return cookie.split(";")[0].removeprefix(f"{COOKIE}=")


CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; skips (fails under CI) without it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    azurite_harness.need(sync_playwright is not None, "playwright not installed")
    azurite_harness.need(
        os.path.exists(CHROMIUM),
        f"{CHROMIUM} not installed: run scripts/test-deps.d/30-azurite-chromium.sh",
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
