"""Uploads on their own thread: bounded queue, retries with backoff, drop-and-count.

The pipeline only ever calls `submit`, which never waits: when the queue is full the
frame is dropped and counted. The worker creates each container once (again only if
the service reports it gone), retries a failed upload with doubling delays and drops
the frame, counted, when storage stays down.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class UploadJob:
    """One frame to store: `make_data` encodes it on the worker thread."""

    container: str
    name: str
    make_data: Callable[[], bytes]
    metadata: dict[str, str]


@dataclass(frozen=True)
class UploadStats:
    """Counters since start: delivered, retried attempts, dropped and why."""

    uploaded: int = 0
    retried: int = 0
    failed: int = 0  # dropped after the last retry failed
    dropped: int = 0  # dropped because the queue was full (or left at shutdown)
    encode_errors: int = 0


class Uploader:
    """A worker thread delivering `UploadJob`s to a `BlobServiceClient`."""

    def __init__(
        self,
        service: BlobServiceClient,
        queue_size: int = 16,
        retries: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self.service = service
        self.retries = retries
        self.backoff_s = backoff_s
        self._queue: queue.Queue[UploadJob] = queue.Queue(maxsize=queue_size)
        self._closing = threading.Event()
        self._abort = threading.Event()
        self._lock = threading.Lock()
        self._counts = {name: 0 for name in UploadStats.__dataclass_fields__}
        self._ready: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="archive-uploader", daemon=True)

    def start(self) -> Uploader:
        self._thread.start()
        return self

    def submit(self, job: UploadJob) -> bool:
        """Queue a job without waiting; False (and counted) when it had to be dropped."""
        if self._closing.is_set():
            self._count("dropped")
            return False
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._count("dropped")
            return False
        return True

    def stats(self) -> UploadStats:
        with self._lock:
            return UploadStats(**self._counts)

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, flush_timeout_s: float = 10.0, abort_wait_s: float = 5.0) -> UploadStats:
        """Deliver what is queued for up to `flush_timeout_s`, then give up (counted),
        waiting at most `abort_wait_s` more for an upload in flight."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(flush_timeout_s)
        if self._thread.is_alive():
            self._abort.set()
            self._thread.join(abort_wait_s)
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._count("dropped")
        return self.stats()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _run(self) -> None:
        while not self._abort.is_set():
            try:
                job = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._closing.is_set():
                    return
                continue
            self._deliver(job)

    def _deliver(self, job: UploadJob) -> None:
        try:
            data = job.make_data()
        except Exception as exc:  # a frame that cannot be encoded must not stop the worker
            log.warning("archive: cannot encode %s: %s", job.name, exc)
            self._count("encode_errors")
            return
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                self._upload(job, data)
                self._count("uploaded")
                return
            except AzureError as exc:
                if isinstance(exc, ResourceNotFoundError):
                    self._ready.discard(job.container)  # deleted meanwhile: create again
                last = exc
            if attempt == self.retries or self._abort.wait(delay):
                break
            self._count("retried")
            delay = min(delay * 2, MAX_BACKOFF_S)
        self._count("failed")
        log.warning(
            "archive: dropped %s/%s after %d attempt(s): %s",
            job.container,
            job.name,
            attempt + 1,
            _first_line(last),
        )

    def _upload(self, job: UploadJob, data: bytes) -> None:
        container = self.service.get_container_client(job.container)
        if job.container not in self._ready:
            try:
                container.create_container()
                log.info("archive: created container %s", job.container)
            except ResourceExistsError:
                pass
            self._ready.add(job.container)
        container.upload_blob(
            job.name,
            data,
            overwrite=True,
            metadata=job.metadata,
            content_settings=ContentSettings(content_type="image/jpeg"),
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
