"""The Live page in real headless Chromium: behind the sign-in, it frames the preview of a
real running text detector module (`python main.py` on the looped demo video) and the
stream's frames, boxes drawn, show in it. The dashboard runs on Azurite as usual."""

from __future__ import annotations

import time

import azurite_harness
import cv2
import dashboard_server
import numpy as np
import pytest
from module_process import ModuleProcess

from textdetector.drawing.labels import READ

TOKEN = "live-page-token-0123456789"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def module():
    process = ModuleProcess({"LOOP": "true", "REC_FRAMES": "1", "PREVIEW_FPS": "10"})

    def listed() -> bool:
        try:
            return 'data-source="0"' in process.get("/preview")[1]
        except OSError:  # not listening yet
            return False

    try:
        assert process.wait_for(listed, 90, 0.5), process.log()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, module):
    preview = f"http://127.0.0.1:{module.port}/preview"
    with (
        azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server,
        dashboard_server.serving(
            server.connection_string, DASHBOARD_TOKEN=TOKEN, DASHBOARD_PREVIEW_URLS=preview
        ) as url,
    ):
        yield url, preview


def green(image: np.ndarray) -> int:
    return int((np.abs(image.astype(np.int16) - READ).max(axis=2) <= 40).sum())


def test_live_page_frames_the_module_preview_behind_sign_in(dashboard):
    base, preview = dashboard
    assert dashboard_server.call(f"{base}/live").status == 401  # no session
    with dashboard_server.chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/live", wait_until="domcontentloaded")
        assert "/signin" in page.url
        page.fill("#token", TOKEN)
        page.click("#submit")
        page.wait_for_url(f"{base}/live")
        assert page.get_attribute("#live-tab", "class") == "on"
        assert page.get_attribute("iframe", "src") == preview
        frame = page.frame_locator("iframe")
        img = frame.locator("img[data-source='0']")
        img.wait_for(timeout=30000)
        deadline = time.monotonic() + 60
        while img.evaluate("e => e.naturalWidth") == 0:
            assert time.monotonic() < deadline, "the preview stream never showed a frame"
            time.sleep(0.2)
        box = img.bounding_box()
        assert box is not None and box["width"] > 300, box
        x, y, w, h = (int(box[k]) for k in ("x", "y", "width", "height"))
        drawn = 0
        while drawn <= 0.01 * w * h:  # a frame with text: ~2.7 % box and label green
            assert time.monotonic() < deadline, f"{drawn} box pixels at most in the frame"
            shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_COLOR)
            drawn = green(shot[y : y + h, x : x + w])
        page.goto(f"{base}/c/annotated", wait_until="domcontentloaded")
        assert page.get_attribute("#live-tab", "href") == "/live"  # beside the archive tabs
