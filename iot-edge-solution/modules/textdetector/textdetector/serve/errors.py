"""The one error type a request can end with: an HTTP status, a code and a message."""

from __future__ import annotations


class RequestError(Exception):
    """A request the service refuses; becomes a JSON error answer with `status`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
