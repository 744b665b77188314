"""Test helpers: seed Azurite with archived frames and run the dashboard on a thread."""
from __future__ import annotations

import asyncio
import itertools
import threading
from contextlib import contextmanager
from typing import Iterator

import cv2
import numpy as np
from aiohttp import web

from reviewdashboard.app import create_app
from reviewdashboard.config import load

import azurite_harness


def seed(connection_string: str, frames: int = 12, start: float = 1_800_000_000.0) -> None:
    """Archive frames with the textdetector's own sink (the contract under test).

    One frame a minute from `start`; even frames are confident ("annotated"), odd ones
    carry an uncertain region ("lowconf"); the first half come from "cam-north".
    """
    from textdetector.sinks.archive import ArchiveSink
    from textdetector.config import ArchiveSettings, load as load_archive
    from textdetector.results import Detections, FrameResult

    settings = load_archive(ArchiveSettings, {"ARCHIVE_CONNECTION_STRING": connection_string,
                                              "ARCHIVE_INTERVAL": "0"})
    clock = itertools.count()
    with ArchiveSink(settings, "ch_PP-OCRv4_det_infer.onnx",
                     clock=lambda: start + next(clock) * 60) as sink:
        for i in range(frames):
            image = np.full((240, 320, 3), 250, np.uint8)
            cv2.putText(image, f"TEXT {i}", (20, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3)
            boxes = np.array([[[15, 45], [230, 45], [230, 105], [15, 105]],
                              [[15, 150], [200, 150], [200, 200], [15, 200]]], np.float32)
            scores = np.array([0.95, 0.9 if i % 2 == 0 else 0.7], np.float32)
            source = "cam-north" if i < frames // 2 else "cam-south"
            sink.write(FrameResult(i, float(i), source, Detections(boxes, scores, (240, 320)),
                                   image=image))
    assert sink.stats().uploaded == frames


@contextmanager
def serving(connection_string: str, **env: str) -> Iterator[str]:
    """Run the dashboard on a free port in a background event loop; yields its base URL."""
    port = azurite_harness.free_port()
    settings = load({"DASHBOARD_STORAGE_CONNECTION_STRING": connection_string,
                     "DASHBOARD_PORT": str(port), **env})
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
