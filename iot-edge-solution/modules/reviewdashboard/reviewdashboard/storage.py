"""Blob Storage access, server-side only: paged listings, image bytes, counters.

A listing request reads at most `max_pages` service pages of `page_size` blobs, newest
first, and hands back the service's continuation token for the next request; it never
lists a whole container.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from azure.core import MatchConditions
from azure.core.async_paging import AsyncPageIterator
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry

from .config import DashboardSettings
from .frames import Frame, parse_frame, valid_name
from .labels import MAX_SIDECAR, SUFFIX, LabelError, Sidecar, parse_sidecar, sidecar_name

COUNT_CAP = 1000
FIRST_GET = 4 * 1024 * 1024  # a download's first request: the size is known after it


class BlobTooLarge(Exception):
    """A blob over DASHBOARD_MAX_IMAGE_BYTES: refused before the rest is downloaded."""


@dataclass(frozen=True)
class Page:
    frames: list[Frame]
    next_token: str | None


@dataclass(frozen=True)
class Filters:
    source: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def keeps(self, frame: Frame) -> bool:
        if self.until is not None and frame.time > self.until:
            return False
        return not self.source or self.source.lower() in frame.source.lower()


class FrameStore:
    """Reads the archive containers with one async client."""

    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        self.client = BlobServiceClient.from_connection_string(
            settings.connection_string,
            # One retry after about a second: the SDK's default waits 15 s (+-3) first, so
            # a page asked for while storage is down answered 503 after 16 s.
            retry_policy=ExponentialRetry(initial_backoff=1, retry_total=1, random_jitter_range=1),
            connection_timeout=settings.timeout,
            read_timeout=settings.timeout,
            max_single_get_size=FIRST_GET,
            max_chunk_get_size=FIRST_GET,
        )
        self._counters: dict[str, dict[str, object]] = {}
        self._counted_at = 0.0

    async def close(self) -> None:
        await self.client.close()

    async def list_page(self, container: str, token: str | None, filters: Filters) -> Page:
        """Matching frames from the next service pages, newest first, and the next token."""
        s = self.settings
        blobs = self.client.get_container_client(container).list_blobs(
            include=["metadata"], results_per_page=s.page_size
        )
        # by_page() is typed as a plain iterator; it is an AsyncPageIterator (a token).
        pages = cast(AsyncPageIterator[Any], blobs.by_page(continuation_token=token or None))
        frames: list[Frame] = []
        scanned = 0
        async for page in pages:
            scanned += 1
            async for blob in page:
                frame = parse_frame(container, blob.name, blob.metadata)
                if frame is None:
                    continue
                if filters.since is not None and frame.time < filters.since:
                    return Page(frames, None)  # names are newest first: nothing older fits
                if filters.keeps(frame):
                    frames.append(frame)
            if len(frames) >= s.page_size or scanned >= s.max_pages:
                break
        return Page(frames, pages.continuation_token or None)

    async def frame(self, container: str, name: str) -> Frame | None:
        props = await self.client.get_blob_client(container, name).get_blob_properties()
        return parse_frame(container, name, props.metadata)

    async def image(self, container: str, name: str) -> bytes:
        """The blob's bytes; `BlobTooLarge` (nothing more read) when over the size cap."""
        stream = await self.client.get_blob_client(container, name).download_blob()
        if stream.size > self.settings.max_image_bytes:
            raise BlobTooLarge(
                f"blob of {stream.size} bytes is over the limit of "
                f"{self.settings.max_image_bytes} bytes"
            )
        return await stream.readall()

    async def labels(self, container: str, name: str) -> tuple[Sidecar, str | None]:
        """The frame's sidecar labels and their ETag (an empty set and None when unlabelled);
        LabelError when the sidecar is malformed or over its size cap."""
        client = self.client.get_blob_client(container, sidecar_name(name))
        try:
            stream = await client.download_blob()
        except ResourceNotFoundError:
            return Sidecar(container, name), None
        if stream.size > MAX_SIDECAR:
            raise LabelError(f"{sidecar_name(name)} is over {MAX_SIDECAR} bytes")
        return parse_sidecar(await stream.readall(), container, name), stream.properties.etag

    async def save_labels(self, sidecar: Sidecar, etag: str | None) -> None:
        """Write the sidecar only if nobody changed it since it was read (ETag), or only if
        it does not exist yet: ResourceModifiedError / ResourceExistsError otherwise."""
        client = self.client.get_blob_client(sidecar.container, sidecar_name(sidecar.blob))
        settings = ContentSettings(content_type="application/json; charset=utf-8")
        if etag is None:
            await client.upload_blob(sidecar.to_json(), overwrite=False, content_settings=settings)
            return
        await client.upload_blob(
            sidecar.to_json(),
            overwrite=True,
            etag=etag,
            match_condition=MatchConditions.IfNotModified,
            content_settings=settings,
        )

    async def labelled(self, container: str) -> list[str]:
        """Names of the container's frames that have a sidecar, in name order."""
        names: list[str] = []
        blobs = self.client.get_container_client(container).list_blobs()
        try:
            async for blob in blobs:
                frame = blob.name.removesuffix(SUFFIX)
                if blob.name.endswith(SUFFIX) and valid_name(frame):
                    names.append(frame)
        except ResourceNotFoundError:  # no container yet: nothing archived
            pass
        return sorted(names)

    async def counters(self) -> dict[str, dict[str, object]]:
        """Per container: newest frame time and frames in the last hour (cached briefly)."""
        if self._counters and time.monotonic() - self._counted_at < self.settings.counter_interval:
            return self._counters
        since = datetime.now(timezone.utc) - timedelta(hours=1)
        result: dict[str, dict[str, object]] = {}
        for container in self.settings.containers:
            result[container] = await self._count(container, since)
        self._counters, self._counted_at = result, time.monotonic()
        return result

    async def _count(self, container: str, since: datetime) -> dict[str, object]:
        newest: datetime | None = None
        count = 0
        blobs = self.client.get_container_client(container).list_blobs(results_per_page=200)
        try:
            async for page in blobs.by_page():
                async for blob in page:
                    frame = parse_frame(container, blob.name, None)
                    if frame is None:
                        continue
                    newest = newest or frame.time
                    if frame.time < since or count >= COUNT_CAP:
                        return _counter(newest, count, count >= COUNT_CAP)
                    count += 1
        except ResourceNotFoundError:  # no container yet: nothing archived
            pass
        return _counter(newest, count, False)


def _counter(newest: datetime | None, count: int, capped: bool) -> dict[str, object]:
    return {
        "newest": newest.isoformat(timespec="seconds") if newest else None,
        "last_hour": count,
        "capped": capped,
    }
