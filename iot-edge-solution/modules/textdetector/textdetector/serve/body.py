"""Reading one request body within its budget: a byte limit, a per-read timeout and a
deadline for the whole body.

Every byte the client sends counts, whatever part of a multipart body it belongs to, and
every wait is bounded: a stalled or dribbling upload ends with 408 instead of holding its
place (and its bytes) in the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .decode import Limits, check_content_type
from .errors import RequestError

MULTIPART_FIELDS = ("imageData", "image", "file", "data")
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers on top of the image bytes
CHUNK = 64 * 1024
T = TypeVar("T")


class BodyReader:
    """Reads the image bytes of a raw or multipart/form-data body within `limits`."""

    def __init__(
        self, request: web.Request, limits: Limits, read_timeout: float, body_timeout: float
    ) -> None:
        self.request = request
        self.limits = limits
        self.read_timeout = read_timeout
        self.body_timeout = body_timeout
        self.deadline = asyncio.get_running_loop().time() + body_timeout

    async def _next(self, read: Callable[[], Awaitable[T]]) -> T:
        """One read from the client, bounded by the per-read timeout and the deadline;
        then every byte received so far is checked against the limit."""
        left = self.deadline - asyncio.get_running_loop().time()
        try:  # wait_for, not asyncio.timeout: Python 3.10 is supported
            result = await asyncio.wait_for(read(), min(self.read_timeout, left))
        except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
            raise RequestError(
                408,
                "request_timeout",
                "request body not received in time "
                f"(at most {self.read_timeout:g} s between reads, "
                f"{self.body_timeout:g} s in all)",
            ) from None
        if self.request.content.total_bytes > self.limits.max_body_bytes + MULTIPART_SLACK:
            raise self._too_large()
        return result

    def _too_large(self) -> RequestError:
        return RequestError(
            413, "payload_too_large", f"body over the limit of {self.limits.max_body_bytes} bytes"
        )

    async def read(self) -> bytes:
        """The image bytes: the whole raw body, or the image part of a multipart body."""
        if self.request.content_type == "multipart/form-data" and self.request.headers.get(
            "Content-Type"
        ):
            return await self._multipart()
        chunks, size = [], 0
        while chunk := await self._next(self.request.content.readany):
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    async def _multipart(self) -> bytes:
        try:
            reader = await self.request.multipart()
            while (part := await self._next(reader.next)) is not None:
                if not isinstance(part, BodyPartReader):
                    raise RequestError(400, "invalid_multipart", "nested multipart body")
                wanted = part.name in MULTIPART_FIELDS or bool(part.filename)
                data = await self._part(part, keep=wanted)
                if wanted:
                    return data
        except (ValueError, AssertionError, RuntimeError, HttpProcessingError) as exc:
            raise RequestError(
                400, "invalid_multipart", f"malformed multipart body: {type(exc).__name__}"
            ) from None
        raise RequestError(
            400, "missing_image", "multipart body has no image part (field 'imageData' or any file)"
        )

    async def _part(self, part: BodyPartReader, keep: bool) -> bytes:
        """A part's bytes (read and counted, kept only when `keep`)."""
        chunks, size = [], 0
        while chunk := await self._next(lambda: part.read_chunk(CHUNK)):
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise self._too_large()
            if keep:
                chunks.append(chunk)
        return b"".join(chunks)


def check_declared(request: web.Request, limits: Limits) -> None:
    """Refuse from the headers alone (before taking a place in the pool): a declared
    length over the limit (413), a raw body of a type that cannot be an image (415)."""
    if request.content_length is not None and request.content_length > (
        limits.max_body_bytes + MULTIPART_SLACK
    ):
        raise RequestError(
            413,
            "payload_too_large",
            f"body of {request.content_length} bytes is over the limit of "
            f"{limits.max_body_bytes} bytes",
        )
    content_type = request.content_type if request.headers.get("Content-Type") else ""
    if content_type != "multipart/form-data":
        check_content_type(content_type)
