"""Sign-in with DASHBOARD_TOKEN: a form, a server-side session cookie, a failure limit.

The cookie holds a random session id, never the token; the server keeps only a hash of
each id, so signing out (or a restart) ends a session for good. Failed sign-ins are
counted per client address and refused with 429 past the limit, before the token is
compared (in constant time).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections import OrderedDict, deque
from typing import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from . import pages
from .config import DashboardSettings

log = logging.getLogger("reviewdashboard.auth")
COOKIE = "dashboard_session"
WINDOW_S = 60.0
MAX_SESSIONS = 1000
MAX_CLIENTS = 10000
OPEN_PATHS = frozenset({"/signin", "/healthz", "/static/style.css"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Clock = Callable[[], float]


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class Sessions:
    """Signed-in sessions by the hash of their id, each with an expiry time."""

    def __init__(self, lifetime_s: float, clock: Clock = time.monotonic) -> None:
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._expiry: OrderedDict[bytes, float] = OrderedDict()

    def create(self) -> str:
        """A new session id (the cookie value); the oldest sessions go past the cap."""
        session_id = secrets.token_urlsafe(32)
        self._expiry[_digest(session_id)] = self._clock() + self.lifetime_s
        while len(self._expiry) > MAX_SESSIONS:
            self._expiry.popitem(last=False)
        return session_id

    def valid(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        key = _digest(session_id)
        expiry = self._expiry.get(key)
        if expiry is not None and expiry <= self._clock():
            del self._expiry[key]
            expiry = None
        return expiry is not None

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._expiry.pop(_digest(session_id), None)


class FailureLimit:
    """At most `limit` failed sign-ins per client address in any `WINDOW_S` seconds."""

    def __init__(self, limit: int, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= self._clock() - WINDOW_S:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again; 0 when it may now."""
        times = self._recent(client)
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[0] + WINDOW_S - self._clock()))

    def fail(self, client: str) -> None:
        times = self._recent(client)
        times.append(self._clock())
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    def clear(self, client: str) -> None:
        self._failures.pop(client, None)


class Gate:
    """The dashboard's sign-in: middleware plus the /signin and /signout handlers."""

    def __init__(self, settings: DashboardSettings, clock: Clock = time.monotonic) -> None:
        self.token = settings.token.encode()
        self.sessions = Sessions(settings.session_hours * 3600, clock)
        self.failures = FailureLimit(settings.signin_limit, clock)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def signed_in(self, request: web.Request) -> bool:
        return self.sessions.valid(request.cookies.get(COOKIE))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every path but the sign-in page, health and its stylesheet needs a session."""
        if not self.enabled or request.path in OPEN_PATHS or self.signed_in(request):
            return await handler(request)
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            return _redirect(f"/signin?next={quote(request.path_qs, safe='')}")
        return web.Response(status=401, text="sign in first: /signin",
                            headers={"Cache-Control": "no-store"})

    async def form(self, request: web.Request) -> web.Response:
        if not self.enabled:
            return _redirect("/")
        return _page(pages.signin(_safe_next(request.query.get("next")), ""))

    async def signin(self, request: web.Request) -> web.Response:
        """Check the posted token: 303 with a session cookie, 401 again, or 429."""
        if not self.enabled:
            return _redirect("/")
        client = request.remote or "unknown"
        form = await request.post()
        target = _safe_next(str(form.get("next", "")))
        wait = self.failures.retry_after(client)
        if wait:
            log.warning("sign-in refused for %s: too many failures", client)
            return _page(pages.signin(target, f"Too many failed sign-ins; try again in "
                                              f"{wait} s."), 429, {"Retry-After": str(wait)})
        given = str(form.get("token", "")).strip().encode()
        if not hmac.compare_digest(given, self.token):
            self.failures.fail(client)
            log.warning("failed sign-in from %s", client)
            return _page(pages.signin(target, "Wrong token."), 401)
        self.failures.clear(client)
        response = _redirect(target)
        response.set_cookie(COOKIE, self.sessions.create(), httponly=True, samesite="Strict",
                            path="/", secure=request.secure,
                            max_age=int(self.sessions.lifetime_s))
        log.info("signed in from %s", client)
        return response

    async def signout(self, request: web.Request) -> web.Response:
        self.sessions.end(request.cookies.get(COOKIE))
        response = _redirect("/signin")
        response.del_cookie(COOKIE, path="/", samesite="Strict")
        return response

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/signin", self.form), web.post("/signin", self.signin),
                web.post("/signout", self.signout)]


def _page(html: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", **(headers or {})})


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) becomes /."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\r\n\\") or target.startswith("/signin"):
        return "/"
    return target[:2000]
