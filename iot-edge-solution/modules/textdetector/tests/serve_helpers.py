"""Helpers for the HTTP service tests: test images, a plain HTTP client, servers."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import skimage
from prometheus_client.parser import text_string_to_metric_families

from textdetector.config import DEFAULT_MODEL, ServeSettings
from textdetector.serve import server

MODULE_DIR = Path(__file__).resolve().parent.parent
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
PAGE_PNG = SKIMAGE_DATA / "page.png"  # a scanned page of text


def metric_samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text page, parsed by prometheus_client's own parser:
    (name, sorted label pairs) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def page_png() -> bytes:
    return PAGE_PNG.read_bytes()


def page_jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.imread(str(PAGE_PNG)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def blank_jpeg(width: int = 320, height: int = 240) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((height, width, 3), 255, np.uint8))
    assert ok
    return data.tobytes()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Reply:
    """One request with the standard library's HTTP client; every wait has a timeout."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def model_metadata(port: int, timeout: float = 60.0) -> dict:
    """`/v2/models/textdetector` once the service is ready (model loaded and warmed)."""
    deadline = time.monotonic() + timeout
    while request(port, "GET", "/v2/health/ready").status != 200:
        assert time.monotonic() < deadline, "service not ready in time"
        time.sleep(0.1)
    reply = request(port, "GET", "/v2/models/textdetector")
    assert reply.status == 200, reply.body
    return reply.json()


def multipart(
    field: str, filename: str, data: bytes, content_type: str = "image/png"
) -> tuple[bytes, dict[str, str]]:
    boundary = "----textdetector-test-boundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
        f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class ServerProcess:
    """`python main.py serve --port 0` as a real child process."""

    def __init__(self, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        full_env = {**os.environ, "SERVE_PORT": "0", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "serve", *args],
            cwd=MODULE_DIR,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.port = 0

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        while True:
            line = self.lines.get(timeout=timeout)
            self.log.append(line)
            match = re.search(pattern, line)
            if match:
                return match
            if line == "":
                raise AssertionError("server exited:\n" + "".join(self.log))

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.port = int(self.wait_for(r"listening on http://[\d.]+:(\d+)", timeout).group(1))
        self.wait_for(r"ready:", timeout)
        return self

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=timeout)


class ServerThread:
    """The service on a background event loop in this process, with a chosen factory."""

    def __init__(self, settings: ServeSettings, factory: server.DetectorFactory) -> None:
        self.settings, self.factory = settings, factory
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.port = 0
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        assert self.started.wait(30), "server did not start listening"
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        app, pool = server.build(self.settings, self.factory)
        self.pool = pool
        self._stop = asyncio.Event()
        try:
            runner, self.port = await server.start(self.settings, app)
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.started.set()
            return
        self.started.set()
        try:
            await pool.start()
            await self._stop.wait()
        finally:
            await runner.cleanup()
            pool.close()


def model_available() -> bool:
    return DEFAULT_MODEL.is_file()
