"""The service's connections: a cap on how many are open, a header/idle timeout, and
JSON answers (without echoing the request) for requests aiohttp cannot parse.

aiohttp closes a connection that has not sent a complete request within its keep-alive
timeout (set to SERVE_HEADER_TIMEOUT), so headers dribbled a byte at a time end there;
the unread rest of a refused body is read and dropped for at most SERVE_READ_TIMEOUT
(aiohttp's lingering time) before the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler

from ..config import ServeSettings

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str) -> bytes:
    """The service's JSON error document."""
    return json.dumps({"error": message, "code": code, "status": status}).encode()


def _busy_response(retry_after: int) -> bytes:
    body = error_body(503, "too_many_connections", "too many open connections; retry shortly")
    head = (
        f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; "
        f"charset=utf-8\r\nContent-Length: {len(body)}\r\nRetry-After: {retry_after}\r\n"
        f"Connection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHandler(RequestHandler):
    """aiohttp's protocol, answering unparsable requests in the service's JSON format."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Over the connection cap, answer 503 at once and close, never starting."""
        server = self._manager
        if isinstance(server, GuardedServer) and server.full():
            assert isinstance(transport, asyncio.Transport)
            transport.write(_busy_response(server.retry_after))
            transport.close()
            self._manager = None  # connection_lost then has nothing to undo
            return
        super().connection_made(transport)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """One log line naming the error's type only (its text may echo header bytes, a
        key among them), and a JSON answer; the connection is closed after it."""
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        if status >= 500:
            log.error(
                "error handling a request from %s: %s",
                request.remote,
                type(exc).__name__ if exc else status,
            )
            code, text = "internal_error", "internal server error"
        else:
            log.info("unparsable request from %s: %s", request.remote, type(exc).__name__)
            code, text = _parse_error(exc, status)
        response = web.json_response({"error": text, "code": code, "status": status}, status=status)
        response.force_close()
        return response


def _parse_error(exc: BaseException | None, status: int) -> tuple[str, str]:
    if isinstance(exc, LineTooLong):
        return "header_too_large", "request line or header field too long"
    if exc is not None and "headers" in str(exc).lower():
        return "too_many_headers", "too many header fields"
    return "bad_request", f"malformed HTTP request ({HTTPStatus(status).phrase})"


class GuardedServer(web.Server):
    """aiohttp's connection factory with a cap on open connections."""

    max_connections = 256
    retry_after = 1

    def __call__(self) -> RequestHandler:
        return GuardedHandler(self, loop=self._loop, **self._kwargs)

    def full(self) -> bool:
        return len(self._connections) >= self.max_connections


class ServiceRunner(web.AppRunner):
    """`web.AppRunner` whose server is a `GuardedServer` configured from the settings."""

    def __init__(self, app: web.Application, settings: ServeSettings, **kwargs: Any) -> None:
        super().__init__(
            app,
            keepalive_timeout=settings.header_timeout,
            lingering_time=settings.read_timeout,
            **kwargs,
        )
        self.settings = settings

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = GuardedServer  # same state; only the two methods above differ
        assert isinstance(server, GuardedServer)
        server.max_connections = self.settings.max_connections
        server.retry_after = self.settings.retry_after
        return server
