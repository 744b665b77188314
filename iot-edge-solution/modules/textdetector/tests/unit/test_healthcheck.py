"""The image's HEALTHCHECK script, run against this test process and a closed port.

The container checks (tests/images/test_images.py) run it inside real containers for `serve`;
here its parts are checked on the host, where PID 1 is not the module.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time

from ports import refused_port

from textdetector import healthcheck


def test_serve_port_from_flags_environment_or_default(monkeypatch):
    monkeypatch.delenv("SERVE_PORT", raising=False)
    assert healthcheck.serve_port(["python", "main.py", "serve", "--port", "9001"]) == 9001
    assert healthcheck.serve_port(["python", "main.py", "serve", "--port=9002"]) == 9002
    assert healthcheck.serve_port(["python", "main.py", "serve"]) == 8080
    monkeypatch.setenv("SERVE_PORT", "9003")
    assert healthcheck.serve_port(["python", "main.py", "serve"]) == 9003


def test_process_state_and_command_line():
    assert healthcheck.process_alive(os.getpid())
    # This process's own command line (pytest's, or a test worker's when spread over cores).
    assert healthcheck.main_arguments(os.getpid())[1:] == sys.orig_argv[1:]
    assert not healthcheck.process_alive(2**22 + 1)  # above the kernel's pid_max


def test_a_zombie_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while healthcheck.process_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not healthcheck.process_alive(child.pid)  # exited, not yet reaped
    finally:
        child.wait()


def test_serve_live_is_false_when_nothing_listens():
    with refused_port() as port:
        assert healthcheck.serve_live(port, timeout=1.0) is False


class LiveHandler(http.server.BaseHTTPRequestHandler):
    """Answers 200 on the liveness path, 404 elsewhere."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/v2/health/live" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def sleeper(*arguments: str) -> subprocess.Popen:
    """A process whose command line carries `arguments`, as the container's PID 1 would."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *arguments])


def test_healthy_in_serve_mode_follows_the_liveness_endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LiveHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with refused_port() as nothing_there:
        serving, closed, garbled = (
            sleeper("serve", "--port", str(port)),
            sleeper("serve", "--port", str(nothing_there)),
            sleeper("serve", "--port", "eighty"),
        )
        try:
            assert healthcheck.healthy(serving.pid) is True
            assert healthcheck.healthy(closed.pid) is False
            assert healthcheck.healthy(garbled.pid) is False
        finally:
            server.shutdown()
            for child in (serving, closed, garbled):
                child.kill()
                child.wait()


def test_healthy_for_detection_runs_is_the_process_state():
    child = sleeper("--camera-path", "rtsp://camera/stream")
    try:
        assert healthcheck.healthy(child.pid) is True
    finally:
        child.kill()
        child.wait()
    assert healthcheck.healthy(child.pid) is False  # reaped: no /proc entry
