"""Sign-in with DASHBOARD_TOKEN: a form, a server-side session cookie, a failure limit.

The cookie holds a random session id, never the token; the server keeps only a hash of
each id, so signing out (or a restart) ends a session for good. Failed sign-ins are
counted per client address; past the limit a wrong token is refused with 429, while the
right one (compared in constant time) still signs in. Sign-in and sign-out POSTs from
another site (their Origin names another host) are refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from edgekit_common.hosts import host_allowed, own_names

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
        self.trust_forwarded_proto = settings.trust_forwarded_proto

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
        return web.Response(
            status=401, text="sign in first: /signin", headers={"Cache-Control": "no-store"}
        )

    async def form(self, request: web.Request) -> web.Response:
        if not self.enabled:
            return _redirect("/")
        return _page(pages.signin(_safe_next(request.query.get("next")), ""))

    async def signin(self, request: web.Request) -> web.Response:
        """Check the posted token: 303 with a session cookie, 401 again, or 429.

        The right token always signs in, even while the address is locked out: anyone
        sharing it (every client behind one port mapping) could lock everyone out
        otherwise. Wrong tokens past the limit are answered 429.
        """
        if not self.enabled:
            return _redirect("/")
        if not same_origin(request):
            return _page(pages.signin("/", "Sign-in from another site refused."), 403)
        client = request.remote or "unknown"
        form = await request.post()
        target = _safe_next(str(form.get("next", "")))
        given = str(form.get("token", "")).strip().encode()
        if hmac.compare_digest(given, self.token):
            self.failures.clear(client)
            log.info("signed in from %s", client)
            return self._session_response(request, target)
        wait = self.failures.retry_after(client)
        self.failures.fail(client)
        if wait:
            log.warning("sign-in refused for %s: too many failures", client)
            return _page(
                pages.signin(target, f"Too many failed sign-ins; try again in {wait} s."),
                429,
                {"Retry-After": str(wait)},
            )
        log.warning("failed sign-in from %s", client)
        return _page(pages.signin(target, "Wrong token."), 401)

    def _secure(self, request: web.Request) -> bool:
        """TLS to this process, or (DASHBOARD_TRUST_FORWARDED_PROTO) to the proxy before it."""
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return request.secure or (self.trust_forwarded_proto and proto == "https")

    def _session_response(self, request: web.Request, target: str) -> web.Response:
        response = _redirect(target)
        response.set_cookie(
            COOKIE,
            self.sessions.create(),
            httponly=True,
            samesite="Strict",
            path="/",
            secure=self._secure(request),
            max_age=int(self.sessions.lifetime_s),
        )
        return response

    async def signout(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            return web.Response(
                status=403,
                text="sign-out from another site refused",
                headers={"Cache-Control": "no-store"},
            )
        self.sessions.end(request.cookies.get(COOKIE))
        response = _redirect("/signin")
        response.del_cookie(COOKIE, path="/", samesite="Strict", secure=self._secure(request))
        return response

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/signin", self.form),
            web.post("/signin", self.signin),
            web.post("/signout", self.signout),
        ]


def _page(html: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (another site) becomes /.

    Control characters and backslashes are refused anywhere: browsers drop tabs and
    newlines from a Location and read '\\' as '/': '/', a tab, '/evil.example' leaves.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    if target.startswith("/signin"):
        return "/"
    return target[:2000]


def same_origin(request: web.Request) -> bool:
    """A POST from this dashboard's own pages. Browsers say where a request comes from in
    Sec-Fetch-Site (same-origin, or none when typed by the user); older ones only in
    Origin, which must then name the host the request was sent to. With neither header
    it is not a browser's form, so there is nothing to forge. (With this site's
    no-referrer policy Chromium sends `Origin: null` on its own forms, hence the order.)"""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.lower() in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


def host_check_needed(settings: DashboardSettings) -> bool:
    """Without a token (loopback only) a web page could reach the dashboard through DNS
    rebinding: the Host header is then checked; also whenever DASHBOARD_ALLOWED_HOSTS
    is set."""
    return not settings.token or bool(settings.allowed_hosts)


def check_host(settings: DashboardSettings) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware refusing (403) a Host header naming none of the dashboard's names."""
    names = own_names(settings.host, settings.allowed_hosts)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = host_allowed(request.headers.get("Host", ""), names)
        if not allowed and request.path != "/healthz":
            return web.Response(
                status=403,
                text="Host names none of this dashboard's names (DASHBOARD_ALLOWED_HOSTS)",
                headers={"Cache-Control": "no-store"},
            )
        return await handler(request)

    return check
