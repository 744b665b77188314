"""Optional API key (SERVE_API_KEY): every route but the two health probes needs it;
without a key, the Host header check against DNS rebinding (SERVE_ALLOWED_HOSTS).

The key comes in `X-API-Key: <key>` or `Authorization: Bearer <key>` and is compared
in constant time. A missing or wrong key is a 401 in the service's JSON error format.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from edgekit_common.hosts import host_allowed, is_loopback, own_names

from ..config import ServeSettings
from .errors import RequestError

OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_key(request: web.Request) -> str:
    """The key the client sent, from X-API-Key or a Bearer Authorization; '' for none."""
    key = request.headers.get("X-API-Key", "")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def key_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def require_key(expected: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware refusing requests without `expected` (runs inside the error middleware)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS and not key_matches(presented_key(request), expected):
            raise RequestError(
                401,
                "unauthorized",
                "missing or wrong API key: send it as X-API-Key or Authorization: Bearer",
                {"WWW-Authenticate": 'Bearer realm="textdetector"'},
            )
        return await handler(request)

    return check


def host_check_needed(settings: ServeSettings) -> bool:
    """Without a key, Host is checked when listening on loopback (the service a web page
    could reach through DNS rebinding) or when SERVE_ALLOWED_HOSTS names the hosts."""
    return not settings.api_key and (is_loopback(settings.host) or bool(settings.allowed_hosts))


def check_host(settings: ServeSettings) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware refusing (403) a Host header that names none of this service's names."""
    names = own_names(settings.host, settings.allowed_hosts)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = host_allowed(request.headers.get("Host", ""), names)
        if request.path not in OPEN_PATHS and not allowed:
            raise RequestError(
                403,
                "host_not_allowed",
                "Host header names none of this service's names (SERVE_ALLOWED_HOSTS)",
            )
        return await handler(request)

    return check
