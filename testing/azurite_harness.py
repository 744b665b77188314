"""Test harness: a real Azurite blob service on a free 127.0.0.1 port, in memory.

The account name and key are generated per run and given to Azurite through its
AZURITE_ACCOUNTS variable, so no key is ever written in the repository. Where Azurite
(installed into .tools/ by scripts/test-deps.d/30-azurite-chromium.sh) is missing, tests
skip with the reason, or fail under CI=true.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from components import need
from ports import steady_port

REPO = Path(__file__).resolve().parent.parent
LOCAL_BIN = REPO / ".tools" / "node_modules" / ".bin" / "azurite-blob"


def azurite_binary() -> str | None:
    return str(LOCAL_BIN) if LOCAL_BIN.exists() else shutil.which("azurite-blob")


@dataclass
class Azurite:
    """A running Azurite blob service; `stop()`/`start()` simulate storage outages."""

    port: int
    account: str
    key: str
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};"
            f"AccountKey={self.key};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{self.account};"
        )

    def start(self, timeout_s: float = 30.0) -> None:
        binary = azurite_binary()
        assert binary, "azurite-blob not installed"
        env = dict(os.environ, AZURITE_ACCOUNTS=f"{self.account}:{self.key}")
        self.process = subprocess.Popen(
            [
                binary,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ],
            env=env,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace")[-500:]
                raise RuntimeError(f"azurite exited with {self.process.returncode}: {err}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"azurite did not listen on port {self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None


@contextlib.contextmanager
def running(workdir: Path) -> Iterator[Azurite]:
    """Start Azurite for a test module (skips, or fails under CI, when it is missing)."""
    need(
        azurite_binary() is not None,
        "Azurite not installed: run scripts/test-deps.d/30-azurite-chromium.sh",
    )
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    server = Azurite(steady_port(), "archive" + secrets.token_hex(4), key, workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
