"""Optional API key (SERVE_API_KEY): every route but the two health probes needs it.

The key comes in `X-API-Key: <key>` or `Authorization: Bearer <key>` and is compared
in constant time. A missing or wrong key is a 401 in the service's JSON error format.
"""
from __future__ import annotations

import hmac
from typing import Awaitable, Callable

from aiohttp import web

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
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def require_key(expected: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware refusing requests without `expected` (runs inside the error middleware)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS and not key_matches(presented_key(request), expected):
            raise RequestError(401, "unauthorized", "missing or wrong API key: send it as "
                               "X-API-Key or Authorization: Bearer",
                               {"WWW-Authenticate": 'Bearer realm="textdetector"'})
        return await handler(request)

    return check
