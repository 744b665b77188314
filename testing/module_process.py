"""The text detector module as a real subprocess (`python main.py`) with its health endpoint.

`ModuleProcess` starts `main.py` in the module folder with the given environment plus a
free HEALTH_PORT, collects stdout and stderr lines on threads, reads `/health` and
`/metrics`, and stops the module with a real signal, timing how long it took to exit.
Shared by the live-source tests, `tools/soak_streams.py` and `tools/bench_cameras.py`
(`quick=False`: the module's own detection defaults).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ports import free_port
from stream_servers import MODULE

HARNESS_ENV = {"QUIET": "1", "LOG_LEVEL": "info", "PYTHONUNBUFFERED": "1"}  # lines to read
QUICK_ENV = {"DET_LIMIT_SIDE_LEN": "320", "ORT_THREADS": "1"}  # a test's quick detector


def module_environ(env: dict[str, str], quick: bool = True) -> dict[str, str]:
    """The module's environment: the current one (without IOTHUB_CONNECTION_STRING: only a
    test's own hub), what the harness reads, the quick detector unless `quick` is False
    (benchmarks measure the module's defaults), then `env`."""
    inherited = {k: v for k, v in os.environ.items() if k != "IOTHUB_CONNECTION_STRING"}
    return {**inherited, **HARNESS_ENV, **(QUICK_ENV if quick else {}), **env}


class ModuleProcess:
    """`python main.py` with `module_environ(env, quick)` and HEALTH_PORT."""

    def __init__(
        self,
        env: dict[str, str],
        python: str = sys.executable,
        module_dir: Path = MODULE,
        quick: bool = True,
    ) -> None:
        self.port = free_port()
        full = {**module_environ(env, quick), "HEALTH_PORT": str(self.port)}
        self.process = subprocess.Popen(
            [python, "main.py"],
            cwd=module_dir,
            env=full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            self._collect(self.process.stdout, self.stdout),
            self._collect(self.process.stderr, self.stderr),
        ]
        self.exit_seconds: float | None = None

    @staticmethod
    def _collect(stream, lines: list[str]) -> threading.Thread:
        def run() -> None:
            for line in stream:
                lines.append(line.rstrip("\n"))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def get(self, path: str, timeout_s: float = 2.0) -> tuple[int, str]:
        """Status and body of GET `path` on the health endpoint."""
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def health(self) -> dict | None:
        """The /health document, or None while the endpoint does not answer yet."""
        try:
            return json.loads(self.get("/health")[1])
        except (OSError, ValueError):
            return None

    def source(self, source_id: str) -> dict | None:
        doc = self.health()
        return None if doc is None else doc["sources"].get(source_id)

    def wait_for(
        self, predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.1
    ) -> bool:
        """Poll `predicate` until true, the timeout, or the process exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self.process.poll() is not None:
                return predicate()
            time.sleep(step_s)
        return predicate()

    def frames(self, source_id: str) -> int:
        entry = self.source(source_id)
        return entry["frames_read"] if entry else 0

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        """Send `signum`, wait for the exit; returns the exit code (exit_seconds set)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout_s)
        finally:
            self.kill()
        self.exit_seconds = time.monotonic() - started
        for reader in self._readers:
            reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        """The last stderr lines, for assertion messages."""
        return "\n".join(self.stderr[-30:])
