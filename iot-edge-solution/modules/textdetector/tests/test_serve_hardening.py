"""Security findings on the HTTP service, each checked on a real `main.py serve` process."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

import crafted_images as crafted
from serve_helpers import MODULE_DIR, ServerProcess, request

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
def test_hidden_jpeg_frame_is_413_at_once_without_memory(srv, side):
    """Finding 1 (HIGH): the 710-byte JPEG libjpeg decodes as side x side (frame header
    hidden behind FF 00) is answered 413 from its header, at once, without the service's
    peak memory moving (before: 400 after 2 s and +825 MB at 12000; a 500 with a
    traceback at 40000)."""
    before, logged = peak_rss(srv.proc.pid), len(srv.log)
    start = time.perf_counter()
    reply = request(srv.port, "POST", "/score", crafted.hidden_sof_jpeg(side, side),
                    {"Content-Type": "image/jpeg"})
    took = time.perf_counter() - start
    assert reply.status == 413, reply.body
    assert reply.json()["code"] == "image_too_large"
    assert took < 1.0
    assert peak_rss(srv.proc.pid) - before < 100 * MiB
    assert request(srv.port, "GET", "/v2/health/ready").status == 200
    assert not any("Traceback" in line for line in srv.log[logged:])


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
        "    print(exc.status)\n")
    env = {"SERVE_MAX_PIXELS": "1000000", "PATH": "/usr/bin:/bin"}

    def run(command: str) -> str:
        return subprocess.run([sys.executable, "-c", script, command], cwd=MODULE_DIR, env=env,
                              capture_output=True, text=True, timeout=60).stdout.strip()
    assert run("serve") == "413"
    assert run("detect") == "(1200, 1000)"
