"""Test harness: a real Triton Inference Server serving the module's ONNX models.

The server is PyPI nvidia-pytriton's bundled tritonserver, run by its own venv
(.tools/triton, created by scripts/test-deps.d/50-triton.sh) through
`triton_onnx_server.py`. The models are described by the module's own repository export
(`textdetector.export.triton`), so the server offers exactly the exported names, data
types and dims. `kill()` then `start()` simulate a server crash and its return on the
same ports. Where the venv is missing, tests skip with the reason (fail under CI=true).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components import need
from ports import free_port

REPO = Path(__file__).resolve().parent.parent
TRITON_PYTHON = REPO / ".tools" / "triton" / "bin" / "python"
SERVER_SCRIPT = Path(__file__).with_name("triton_onnx_server.py")


def available() -> bool:
    return TRITON_PYTHON.exists()


@dataclass
class TritonServer:
    """A running tritonserver on free 127.0.0.1 ports."""

    workdir: Path
    models: Sequence  # textdetector.export.triton.TritonModel
    max_batch_size: int = 8
    delay_us: int = 2000
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def grpc_url(self) -> str:
        return f"grpc://127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def _spec(self) -> Path:
        spec = {
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "metrics_port": self.metrics_port,
            "workspace": str(self.workdir / "ws"),
            "models": [_model_spec(m, self.max_batch_size, self.delay_us) for m in self.models],
        }
        path = self.workdir / "spec.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        return path

    def start(self, timeout_s: float = 60.0) -> None:
        shutil.rmtree(self.workdir / "ws", ignore_errors=True)  # pytriton wants a new one
        log = (self.workdir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [str(TRITON_PYTHON), str(SERVER_SCRIPT), str(self._spec())],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.workdir / "server.log").read_text(errors="replace")[-800:]
                raise RuntimeError(f"triton exited with {self.process.returncode}: {tail}")
            if all(self._ready(f"/v2/models/{m.name}/ready") for m in self.models):
                return
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"triton not ready within {timeout_s} s")

    def _ready(self, path: str) -> bool:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(self.http_url + path, timeout=1) as answer:
                return answer.status == 200
        return False

    def metrics(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as answer:
            return answer.read().decode()

    def kill(self) -> None:
        """Crash the server: SIGKILL its whole process group (tritonserver included)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Orderly shutdown (pytriton's exit timeout is 1 s), then SIGKILL leftovers."""
        self._signal(signal.SIGTERM, wait_s=10)
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int, wait_s: float = 5) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(wait_s)
            if signum != signal.SIGKILL:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)  # stray children
            self.process = None


def _model_spec(model, max_batch_size: int, delay_us: int) -> dict:
    def tensors(items) -> list[dict]:
        return [{"name": t.name, "dtype": t.dtype, "dims": list(t.dims)} for t in items]

    return {
        "name": model.name,
        "onnx": str(Path(model.onnx_path).resolve()),
        "inputs": tensors(model.inputs),
        "outputs": tensors(model.outputs),
        "max_batch_size": max_batch_size,
        "delay_us": delay_us,
    }


@contextlib.contextmanager
def running(workdir: Path, models: Sequence, **options) -> Iterator[TritonServer]:
    """Start Triton once (skips, or fails under CI, when its venv is missing)."""
    need(available(), "Triton test server missing: run scripts/test-deps.d/50-triton.sh")
    server = TritonServer(workdir, models, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
