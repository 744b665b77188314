"""The Host-header rule of both HTTP servers, against DNS rebinding: a request whose Host
names neither loopback nor one of the server's own names is refused."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})  # listen addresses, not names


def is_loopback(host: str) -> bool:
    """localhost, its subdomains and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header, without its port: 'a:80' -> 'a', '[::1]:80' -> '[::1]'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return (header.rpartition(":")[0] if header.count(":") == 1 else header).strip()


def own_names(listen_host: str, allowed: Iterable[str]) -> frozenset[str]:
    """The names a server answers to: the host it listens on (unless a wildcard) and the
    allowed names."""
    return frozenset({listen_host.lower(), *allowed}) - WILDCARDS


def host_allowed(header: str, names: frozenset[str]) -> bool:
    """A Host header naming loopback or one of `names`; no Host at all (no browser sends
    none) is allowed too."""
    name = host_name(header)
    return not name or is_loopback(name) or name in names
