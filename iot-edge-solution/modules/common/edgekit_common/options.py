"""Parsers of setting values: each takes the raw text and returns the value, or raises
ValueError with what was expected (the caller names the variable)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Parser = Callable[[str], Any]

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})
# A `${NAME}` (or `$NAME`) a deployment template left unexpanded.
PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")
# An Azure Blob container name: 3-63 lower-case letters, digits and single hyphens.
CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
HOST_NAME = re.compile(r"[a-z0-9._-]+|\[[0-9a-f:.]+\]")
MIN_SECRET = 16  # characters of a shared secret (API key, sign-in token)


def parse_bool(text: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); empty is false."""
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError("expected true/false, 1/0, yes/no or on/off")


def int_range(low: int, high: int) -> Parser:
    """An integer from `low` to `high`, both included."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"expected an integer from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected an integer from {low} to {high}")
        return value

    return parse


def float_range(low: float, high: float, low_open: bool = False) -> Parser:
    """A number in [low, high], or (low, high] with `low_open`."""
    bracket = "(" if low_open else "["

    def parse(text: str) -> float:
        message = f"expected a number in {bracket}{low}, {high}]"
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(message) from None
        if not (low < value if low_open else low <= value) or not value <= high:
            raise ValueError(message)
        return value

    return parse


def one_of(*choices: str) -> Parser:
    """One of `choices` (any case), lower-cased."""

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError("expected one of " + ", ".join(choices))
        return value

    return parse


def is_placeholder(text: str) -> bool:
    """Whether `text` is a template's `${NAME}` left unexpanded."""
    return bool(PLACEHOLDER.fullmatch(text.strip()))


def secret(value: str) -> str:
    """A shared secret: empty (off) or at least MIN_SECRET characters, not a `${NAME}`."""
    key = value.strip()
    if is_placeholder(key):
        raise ValueError(
            "an unexpanded template variable: set it in .env before generating the deployment"
        )
    if key and len(key) < MIN_SECRET:
        raise ValueError(f"expected at least {MIN_SECRET} characters (e.g. `openssl rand -hex 24`)")
    return key


def container_name(value: str) -> str:
    """An Azure Blob container name: 3-63 lower-case letters, digits and single hyphens."""
    name = value.strip()
    if not CONTAINER.fullmatch(name):
        raise ValueError(
            "expected 3-63 lower-case letters, digits or single hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def container_names(value: str) -> tuple[str, ...]:
    """Comma-separated container names, at least one, duplicates dropped."""
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not names or not all(CONTAINER.fullmatch(n) for n in names):
        raise ValueError(
            "expected comma-separated container names (3-63 lower-case "
            "letters, digits or single hyphens)"
        )
    return names


def host_names(value: str) -> tuple[str, ...]:
    """Comma-separated host names (no port), lower-cased; '' for none."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in value.split(",") if n.strip()))
    for name in names:
        if not HOST_NAME.fullmatch(name):
            raise ValueError(f"expected comma-separated host names without ports, got {name!r}")
    return names


def http_urls(value: str) -> tuple[str, ...]:
    """Comma-separated http(s) URLs with a host, at most 16, duplicates dropped; no user
    name or password in them (a token goes in the query, so no URL is echoed)."""

    urls = tuple(dict.fromkeys(u.strip() for u in value.split(",") if u.strip()))
    if len(urls) > 16:
        raise ValueError("expected at most 16 URLs")
    for n, url in enumerate(urls, 1):
        if not _plain_http_url(url):
            raise ValueError(
                f"URL {n} is not http(s)://host[:port]/path (no user:password@, spaces or "
                "quotes; a token goes in the query)"
            )
    return urls


def _plain_http_url(url: str) -> bool:
    """http(s) with a host and a valid port, no credentials, spaces or quotes."""
    from urllib.parse import urlsplit

    if any(ord(c) < 0x21 or c in "<>\"'\\`" for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
    )
