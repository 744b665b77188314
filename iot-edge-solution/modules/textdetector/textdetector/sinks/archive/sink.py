"""The archive sink: routes, samples and queues frames; never waits for storage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from azure.storage.blob import BlobServiceClient

from ...config import ArchiveSettings
from ...drawing import annotate
from ...errors import ConfigError
from ...results import FrameResult
from ..shutdown import ShutdownBudget
from .encoding import encode_jpeg
from .naming import blob_name, metadata
from .routing import Route, route
from .uploader import Uploader, UploadJob, UploadStats

log = logging.getLogger(__name__)
# The SDK logs every request at INFO; keep the module's log about frames.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


def connect(settings: ArchiveSettings) -> BlobServiceClient:
    """A client for the configured account; SDK retries off (the uploader retries)."""
    try:
        return BlobServiceClient.from_connection_string(
            settings.connection_string,
            retry_total=0,
            connection_timeout=settings.archive_timeout,
            read_timeout=settings.archive_timeout,
        )
    except ValueError:
        # The message would echo the connection string: name the variable only.
        raise ConfigError(
            "invalid value for ARCHIVE_CONNECTION_STRING: expected a Blob "
            "Storage connection string (AccountName=...;AccountKey=...;"
            "BlobEndpoint=...)"
        ) from None


class ArchiveSink:
    """Confident frames go annotated to one container, uncertain frames raw to another."""

    def __init__(
        self,
        settings: ArchiveSettings,
        model: str,
        service: BlobServiceClient | None = None,
        clock: Callable[[], float] = time.time,
        flush_timeout_s: float = 10.0,
        budget: ShutdownBudget | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.clock = clock
        self.flush_timeout_s = flush_timeout_s
        self.budget = budget
        self._service = service
        self._uploader: Uploader | None = None
        self._last: dict[str, float] = {}
        self.routed = {Route.ANNOTATED: 0, Route.LOWCONF: 0, Route.NONE: 0}
        self.sampled_out = 0

    def __enter__(self) -> ArchiveSink:
        s = self.settings
        service = self._service or connect(s)
        self._uploader = Uploader(
            service, s.archive_queue_size, s.archive_retries, s.archive_retry_backoff
        ).start()
        log.info(
            "archive: confident frames to %r, uncertain to %r, at most one per %.1f s",
            s.archive_annotated_container,
            s.archive_lowconf_container,
            s.archive_interval,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._uploader is None:
            return
        before = self._uploader.stats().dropped
        grace = self.budget.remaining if self.budget is not None else (lambda cap: cap)
        stats = self._uploader.close(grace(self.flush_timeout_s), grace(5.0))
        if stats.dropped > before:
            log.warning(
                "archive: %d frames not uploaded within the shutdown grace period",
                stats.dropped - before,
            )
        log.info(
            "archive: %d uploaded, %d retries, %d failed, %d dropped (queue full), %d sampled out",
            stats.uploaded,
            stats.retried,
            stats.failed,
            stats.dropped,
            self.sampled_out,
        )

    def stats(self) -> UploadStats:
        return self._uploader.stats() if self._uploader else UploadStats()

    def container_for(self, where: Route) -> str:
        s = self.settings
        return (
            s.archive_annotated_container
            if where is Route.ANNOTATED
            else s.archive_lowconf_container
        )

    def write(self, result: FrameResult) -> None:
        assert self._uploader is not None, "sink used outside its context"
        s = self.settings
        where = route(
            result.detections.scores, s.archive_confident_threshold, s.archive_uncertain_min
        )
        self.routed[where] += 1
        if where is Route.NONE or result.image is None:
            return
        container = self.container_for(where)
        last = self._last.get(container)
        # Source time; a looping file restarts its clock, which starts a new interval.
        if last is not None and 0.0 <= result.timestamp - last < s.archive_interval:
            self.sampled_out += 1
            return
        self._last[container] = result.timestamp
        archived_at = self.clock()
        image, detections, quality = result.image, result.detections, s.archive_jpeg_quality
        if where is Route.ANNOTATED:
            reused = result.reused

            def make_data() -> bytes:
                return encode_jpeg(annotate(image, detections, reused=reused), quality)
        else:

            def make_data() -> bytes:
                return encode_jpeg(image, quality)

        self._uploader.submit(
            UploadJob(
                container,
                blob_name(result, archived_at),
                make_data,
                metadata(result, archived_at, self.model, where.value),
            )
        )
