"""Container health check: exit 0 when the module in this container is healthy, else 1.

`serve` mode (the main process was started with `serve`): its liveness endpoint answers 200.
Detection runs: the main process is alive and not a zombie. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

MAIN_PID = 1


def main_arguments(pid: int = MAIN_PID) -> list[str]:
    """The command line of the container's main process."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def process_alive(pid: int = MAIN_PID) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def serve_port(arguments: list[str]) -> int:
    """The port `serve` listens on: --port, else SERVE_PORT, else 8080."""
    for index, argument in enumerate(arguments):
        if argument == "--port" and index + 1 < len(arguments):
            return int(arguments[index + 1])
        if argument.startswith("--port="):
            return int(argument.split("=", 1)[1])
    return int(os.environ.get("SERVE_PORT") or 8080)


def serve_live(port: int, timeout: float = 4.0) -> bool:
    """True when the HTTP service answers its liveness endpoint with 200."""
    url = f"http://127.0.0.1:{port}/v2/health/live"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status == 200
    except (OSError, ValueError):
        return False


def healthy(pid: int = MAIN_PID) -> bool:
    """Serve mode: the endpoint answers; otherwise the main process is running."""
    try:
        arguments = main_arguments(pid)
    except OSError:
        return False
    if "serve" in arguments:
        try:
            return serve_live(serve_port(arguments))
        except ValueError:
            return False
    return process_alive(pid)


if __name__ == "__main__":
    sys.exit(0 if healthy() else 1)
