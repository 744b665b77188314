"""Dashboard settings, read once from DASHBOARD_* variables into a validated dataclass."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from edgekit_common.hosts import is_loopback
from edgekit_common.options import (
    MIN_SECRET,
    container_names,
    float_range,
    host_names,
    http_urls,
    int_range,
    is_placeholder,
    one_of,
    parse_bool,
)

LEVELS = ("debug", "info", "warning", "error")


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
    # The modules' live preview pages the Live page embeds; a ?token= in one stays out of logs.
    preview_urls: tuple[str, ...] = field(default=(), repr=False)


PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "host": ("DASHBOARD_HOST", str),
    "port": ("DASHBOARD_PORT", int_range(0, 65535)),
    "containers": ("DASHBOARD_CONTAINERS", container_names),
    "page_size": ("DASHBOARD_PAGE_SIZE", int_range(1, 500)),
    "max_pages": ("DASHBOARD_MAX_PAGES", int_range(1, 100)),
    "thumb_size": ("DASHBOARD_THUMB_SIZE", int_range(32, 2048)),
    "counter_interval": ("DASHBOARD_COUNTER_INTERVAL", float_range(0.0, 3600.0, low_open=True)),
    "timeout": ("DASHBOARD_TIMEOUT", float_range(0.0, 600.0, low_open=True)),
    "log_level": ("DASHBOARD_LOG_LEVEL", one_of(*LEVELS)),
    "signin_limit": ("DASHBOARD_SIGNIN_LIMIT", int_range(1, 1000)),
    "session_hours": ("DASHBOARD_SESSION_HOURS", float_range(0.0, 720.0, low_open=True)),
    "allowed_hosts": ("DASHBOARD_ALLOWED_HOSTS", host_names),
    "trust_forwarded_proto": ("DASHBOARD_TRUST_FORWARDED_PROTO", parse_bool),
    "max_image_bytes": ("DASHBOARD_MAX_IMAGE_BYTES", int_range(1024, 1 << 30)),
    "max_pixels": ("DASHBOARD_MAX_PIXELS", int_range(1, 1 << 30)),
    "preview_urls": ("DASHBOARD_PREVIEW_URLS", http_urls),
}

UNECHOED = frozenset({"DASHBOARD_PREVIEW_URLS"})  # values never repeated in an error


def _token(environ: Mapping[str, str], host: str) -> str:
    """DASHBOARD_TOKEN, required off loopback; its value is never echoed in an error."""
    token = environ.get("DASHBOARD_TOKEN", "").strip()
    if is_placeholder(token):
        raise ConfigError(
            "DASHBOARD_TOKEN is an unexpanded template variable: set "
            "DASHBOARD_TOKEN in .env before generating the deployment"
        )
    if token and len(token) < MIN_SECRET:
        raise ConfigError(
            f"DASHBOARD_TOKEN is too short: expected at least {MIN_SECRET} "
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
            shown = "" if env in UNECHOED else f"{raw!r} "  # may carry a token
            raise ConfigError(f"invalid value {shown}for {env}: {exc}") from None
    token = _token(environ, str(values.get("host", DashboardSettings.host)))
    # each parser's value has its field's type: PARSERS pairs them
    return DashboardSettings(connection_string=secret, token=token, **values)  # type: ignore[arg-type]
