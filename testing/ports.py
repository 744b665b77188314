"""Free TCP ports on 127.0.0.1, for the servers the test harnesses start."""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
STEADY_SPAN = 12000  # ports below the ephemeral range steady_port picks from


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 where nobody listens for as long as the block runs: held
    bound but not listening, so a connection is refused and no server another test starts
    meanwhile can take it (a `free_port()` is free only at the moment it is picked)."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]
    finally:
        holder.close()


def steady_ports(count: int) -> list[int]:
    """`count` different free TCP ports below the kernel's ephemeral range, for a server a
    test stops and starts again on the same ports (a broker outage): while it is down,
    neither a client socket nor another process's `free_port()` server can take them, as
    both are given ephemeral ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = steady_port()
        if port not in ports:
            ports.append(port)
    return ports


def steady_port() -> int:
    """One free TCP port below the kernel's ephemeral range (see `steady_ports`)."""
    low = ephemeral_low()
    for _ in range(200):
        port = random.randrange(max(1024, low - STEADY_SPAN), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port found below the ephemeral range ({low})")


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux; 32768 elsewhere)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
