"""The live preview of the real module (`python main.py`, the demo video on a loop, the
real models) on its health port: what Chromium shows, what an MJPEG client decodes, and
bad requests and viewers: a wrong source, too many viewers, one that never reads."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from mjpeg_client import jpeg_parts, read_parts, stream
from module_process import ModuleProcess

from textdetector.drawing.labels import READ

ARTIFACTS = Path(__file__).resolve().parents[5] / "test-artifacts"
START_S = 90  # model load and the first frame on a busy machine
pytestmark = pytest.mark.slow


def near(image: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> int:
    """Pixels within `tol` of `colour` in every channel (BGR)."""
    return int((np.abs(image.astype(np.int16) - colour).max(axis=2) <= tol).sum())


@pytest.fixture(scope="module")
def module():
    process = ModuleProcess(
        {
            "LOOP": "true",
            "REC_FRAMES": "1",  # each frame written as soon as read (files batch 4 by default)
            "PREVIEW_FPS": "10",
            "PREVIEW_MAX_CLIENTS": "4",
            "SUMMARY_INTERVAL": "2",
        }
    )
    try:
        assert process.wait_for(lambda: lists_a_source(process), START_S, 0.5), process.log()
        yield process
    finally:
        process.stop()


def lists_a_source(module: ModuleProcess) -> bool:
    try:
        return 'data-source="0"' in module.get("/preview")[1]
    except OSError:  # not listening yet
        return False


def url(module: ModuleProcess, path: str) -> str:
    return f"http://127.0.0.1:{module.port}{path}"


def test_chromium_shows_boxes_and_text(module):
    from dashboard_server import chromium

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        reply = page.goto(url(module, "/preview"), wait_until="domcontentloaded")
        assert reply is not None and reply.status == 200
        deadline = time.monotonic() + 30  # (the page's CSP forbids wait_for_function's eval)
        while page.eval_on_selector("img[data-source='0']", "e => e.naturalWidth") == 0:
            assert time.monotonic() < deadline, "the stream never showed a frame"
            time.sleep(0.2)
        box = page.locator("img[data-source='0']").bounding_box()
        assert box is not None and box["width"] > 600, box
        x, y, w, h = (int(box[k]) for k in ("x", "y", "width", "height"))
        # The demo video has no pixel of the boxes' green; on a frame with text the drawn
        # boxes and label backgrounds cover about 2.7 % of it (its first second has none).
        assert near(first_text_frame(), READ) == 0
        drawn = 0
        while drawn <= 0.01 * w * h:
            assert time.monotonic() < deadline + 30, f"{drawn} box pixels at most"
            shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_COLOR)
            area = shot[y : y + h, x : x + w]
            drawn = near(area, READ)
        ARTIFACTS.mkdir(exist_ok=True)
        cv2.imwrite(str(ARTIFACTS / "live-preview.png"), shot)
    assert area.std() > 20  # the video itself, not a blank image


def first_text_frame() -> np.ndarray:
    from textdetector.config import DEFAULT_VIDEO

    cap = cv2.VideoCapture(str(DEFAULT_VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def test_mjpeg_client_decodes_ten_frames(module):
    """Ten frames once text is on screen: the demo video's first second has none, and
    this test may be the first to read the stream (run alone, `-k mjpeg`)."""
    parts, seconds = read_parts(url(module, "/preview.mjpg?source=0"), 40, timeout_s=90)
    assert len(parts) == 40, f"{len(parts)} parts in {seconds:.1f} s"
    images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in parts]
    assert all(i is not None and i.shape == (720, 1280, 3) for i in images)
    first = next(n for n, i in enumerate(images) if near(i, READ) > 5000)
    assert first <= 30, "no boxes drawn in the first 30 frames"
    shown = images[first : first + 10]
    assert sum(near(i, READ) > 5000 for i in shown) >= 8  # boxes drawn on (nearly) all
    assert len(set(parts[first : first + 10])) == 10  # ten different frames, no repeats


def test_bad_source_numbers(module):
    assert module.get("/preview.mjpg?source=99")[0] == 404
    status, body = module.get("/preview.mjpg?source=abc")
    assert status == 400 and body.count("\n") == 1, body
    assert module.get("/preview.mjpg")[0] == 400
    assert module.get("/preview.mjpg?source=-1")[0] == 400
    assert module.get("/v2/health/live")[0] == 200


def test_twenty_viewers_four_stream_the_rest_503(module):
    statuses: list[int] = []
    frames: list[int] = []
    lock = threading.Lock()
    go = threading.Barrier(20)
    answered = threading.Barrier(20)  # nobody leaves (freeing a slot) before all are answered

    def viewer() -> None:
        go.wait()
        with stream(url(module, "/preview.mjpg?source=0"), 30) as response:
            got = 0
            if response.status == 200:
                for _ in jpeg_parts(response):
                    got += 1
                    if got == 2:
                        break
            else:
                assert response.read().decode().count("\n") == 1
            with lock:
                statuses.append(response.status)
                frames.append(got)
            answered.wait(60)

    threads = [threading.Thread(target=viewer) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] * 4 + [503] * 16, statuses
    assert sorted(frames)[-4:] == [2, 2, 2, 2]
    assert module.wait_for(lambda: stream_status(module) == 200, 5), "slots not freed"


def stream_status(module: ModuleProcess) -> int:
    with stream(url(module, "/preview.mjpg?source=0"), 10) as response:
        return response.status


def test_viewer_that_never_reads_slows_nothing(module):
    def fps(seconds: float) -> float:
        first, start = module.frames(source_id(module)), time.monotonic()
        time.sleep(seconds)
        return (module.frames(source_id(module)) - first) / (time.monotonic() - start)

    before = fps(4)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", module.port))
    stalled.sendall(b"GET /preview.mjpg?source=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    try:
        time.sleep(2)  # its buffers fill: the server's write to it now waits
        first, start = module.frames(source_id(module)), time.monotonic()
        parts, seconds = read_parts(url(module, "/preview.mjpg?source=0"), 8, timeout_s=30)
        during = (module.frames(source_id(module)) - first) / (time.monotonic() - start)
    finally:
        stalled.close()
    # 8 frames of ~150 kB overfill the stalled viewer's buffers (about 0.5 MB) halfway
    assert len(parts) == 8, f"the other viewer got {len(parts)} frames in {seconds:.1f} s"
    assert during >= 0.6 * before, f"{before:.1f} fps before, {during:.1f} with a stalled viewer"


def source_id(module: ModuleProcess) -> str:
    doc = module.health()
    assert doc is not None
    return next(iter(doc["sources"]))
