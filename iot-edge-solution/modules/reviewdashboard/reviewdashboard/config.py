"""Dashboard settings, read once from DASHBOARD_* variables into a validated dataclass."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
LEVELS = ("debug", "info", "warning", "error")
HOST_NAME = re.compile(r"[a-z0-9._-]+|\[[0-9a-f:.]+\]")
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
MIN_TOKEN = 16
PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")  # left unexpanded by a template


class ConfigError(Exception):
    """An invalid or missing setting; the message names the variable."""


@dataclass(frozen=True)
class DashboardSettings:
    """Every DASHBOARD_* option. The connection string and token are kept out of the repr."""

    connection_string: str = field(repr=False)
    token: str = field(default="", repr=False)  # empty: no sign-in (loopback only)
    host: str = "127.0.0.1"
    port: int = 8090
    containers: tuple[str, ...] = ("annotated", "lowconf")
    page_size: int = 24
    max_pages: int = 10
    thumb_size: int = 320
    counter_interval: float = 5.0
    timeout: float = 10.0
    log_level: str = "info"
    signin_limit: int = 5  # failed sign-ins per client address per minute
    session_hours: float = 12.0
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted without a token, besides loopback
    trust_forwarded_proto: bool = False  # X-Forwarded-Proto: https from a TLS proxy -> Secure
    max_image_bytes: int = 20 * 1024 * 1024  # largest blob read (413 above)
    max_pixels: int = 8192 * 8192  # largest image a thumbnail is made of (declared size)


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ValueError(f"expected an integer from {low} to {high}")
        return value

    return parse


def _float(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = low - 1
        if not low < value <= high:
            raise ValueError(f"expected a number in ({low}, {high}]")
        return value

    return parse


def _containers(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names or not all(CONTAINER.fullmatch(n) for n in names):
        raise ValueError(
            "expected comma-separated container names (3-63 lower-case "
            "letters, digits or single hyphens)"
        )
    return names


def _hosts(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if not all(HOST_NAME.fullmatch(n) for n in names):
        raise ValueError("expected comma-separated host names without ports")
    return names


def _bool(text: str) -> bool:
    if text.lower() not in TRUE | FALSE:
        raise ValueError("expected true/false, 1/0, yes/no or on/off")
    return text.lower() in TRUE


def _level(text: str) -> str:
    if text.lower() not in LEVELS:
        raise ValueError("expected one of " + ", ".join(LEVELS))
    return text.lower()


PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "host": ("DASHBOARD_HOST", str),
    "port": ("DASHBOARD_PORT", _int(0, 65535)),
    "containers": ("DASHBOARD_CONTAINERS", _containers),
    "page_size": ("DASHBOARD_PAGE_SIZE", _int(1, 500)),
    "max_pages": ("DASHBOARD_MAX_PAGES", _int(1, 100)),
    "thumb_size": ("DASHBOARD_THUMB_SIZE", _int(32, 2048)),
    "counter_interval": ("DASHBOARD_COUNTER_INTERVAL", _float(0.0, 3600.0)),
    "timeout": ("DASHBOARD_TIMEOUT", _float(0.0, 600.0)),
    "log_level": ("DASHBOARD_LOG_LEVEL", _level),
    "signin_limit": ("DASHBOARD_SIGNIN_LIMIT", _int(1, 1000)),
    "session_hours": ("DASHBOARD_SESSION_HOURS", _float(0.0, 720.0)),
    "allowed_hosts": ("DASHBOARD_ALLOWED_HOSTS", _hosts),
    "trust_forwarded_proto": ("DASHBOARD_TRUST_FORWARDED_PROTO", _bool),
    "max_image_bytes": ("DASHBOARD_MAX_IMAGE_BYTES", _int(1024, 1 << 30)),
    "max_pixels": ("DASHBOARD_MAX_PIXELS", _int(1, 1 << 30)),
}


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses; anything else may be reachable."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _token(environ: Mapping[str, str], host: str) -> str:
    """DASHBOARD_TOKEN, required off loopback; its value is never echoed in an error."""
    token = environ.get("DASHBOARD_TOKEN", "").strip()
    if PLACEHOLDER.fullmatch(token):
        raise ConfigError(
            "DASHBOARD_TOKEN is an unexpanded template variable: set "
            "DASHBOARD_TOKEN in .env before generating the deployment"
        )
    if token and len(token) < MIN_TOKEN:
        raise ConfigError(
            f"DASHBOARD_TOKEN is too short: expected at least {MIN_TOKEN} "
            "characters (e.g. `openssl rand -hex 24`)"
        )
    if not token and not is_loopback(host):
        raise ConfigError(
            f"DASHBOARD_TOKEN is not set and DASHBOARD_HOST={host} is not a "
            "loopback address: set DASHBOARD_TOKEN or listen on 127.0.0.1"
        )
    return token


def load(environ: Mapping[str, str] | None = None) -> DashboardSettings:
    """Settings from the environment (empty = unset); ConfigError names a bad variable."""
    environ = os.environ if environ is None else environ
    secret = environ.get("DASHBOARD_STORAGE_CONNECTION_STRING", "").strip()
    if not secret:
        raise ConfigError(
            "DASHBOARD_STORAGE_CONNECTION_STRING is not set: give the Blob "
            "Storage connection string the archive writes to"
        )
    values: dict[str, object] = {}
    for name, (env, parse) in PARSERS.items():
        raw = environ.get(env, "").strip()
        if not raw:
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"invalid value {raw!r} for {env}: {exc}") from None
    token = _token(environ, str(values.get("host", DashboardSettings.host)))
    return DashboardSettings(connection_string=secret, token=token, **values)  # type: ignore[arg-type]
