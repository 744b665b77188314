"""The image's HEALTHCHECK script, run against this test process and a closed port.

The container checks (tests/test_images.py) run it inside real containers for `serve`;
here its parts are checked on the host, where PID 1 is not the module.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from textdetector import healthcheck
from azurite_harness import free_port


def test_serve_port_from_flags_environment_or_default(monkeypatch):
    monkeypatch.delenv("SERVE_PORT", raising=False)
    assert healthcheck.serve_port(["python", "main.py", "serve", "--port", "9001"]) == 9001
    assert healthcheck.serve_port(["python", "main.py", "serve", "--port=9002"]) == 9002
    assert healthcheck.serve_port(["python", "main.py", "serve"]) == 8080
    monkeypatch.setenv("SERVE_PORT", "9003")
    assert healthcheck.serve_port(["python", "main.py", "serve"]) == 9003


def test_process_state_and_command_line():
    assert healthcheck.process_alive(os.getpid())
    assert any("pytest" in part for part in healthcheck.main_arguments(os.getpid()))
    assert not healthcheck.process_alive(2 ** 22 + 1)  # above the kernel's pid_max


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
    assert healthcheck.serve_live(free_port(), timeout=1.0) is False
