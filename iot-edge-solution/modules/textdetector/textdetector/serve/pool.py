"""Inference worker pool: a fixed set of threads in front of one detector, bounded queue.

The detector and the text recogniser (engine sessions) are opened once and shared by the
workers: they are thread-safe, and decoding and inference release the GIL, so the event
loop keeps accepting and parsing requests while workers compute. The pool has as many
workers as the engine runs inferences at once (`auto_workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..detector import TextDetector
from ..engines import InferenceEngine
from ..recognizer import TextRecognizer, read_still
from ..results import Detections
from .decode import ImageHeader, decode
from .errors import RequestError
from .metrics import Metrics

log = logging.getLogger(__name__)
DetectorFactory = Callable[[], TextDetector]
RecognizerFactory = Callable[[], TextRecognizer | None]  # None: READ_TEXT is off
WARMUP_SIZE = (720, 1280)  # a 720p frame: one detector pass (PP-OCRv6: 736 x 1312 input)


def auto_workers(engine: InferenceEngine) -> int:
    """Inference threads for an engine: two per inference it runs at once.

    OpenVINO says how many it runs at once (its optimal number of infer requests, one per
    CPU stream: 2 on 2 cores under the service's THROUGHPUT hint); a second thread per
    stream decodes, pre- and post-processes and reads text while the first one's
    inference runs, so no stream waits for Python. ONNX Runtime already spreads one
    inference over every core and TensorRT runs one stream: one caller each (measured on
    2 cores, a second concurrent ORT call only competes for the same cores).
    """
    streams = int(getattr(engine, "parallel_requests", 0))
    return 2 * streams if streams > 1 else 1


def score_image(
    detector: TextDetector, recognizer: TextRecognizer | None, data: bytes, header: ImageHeader
) -> Detections:
    """One request's work off the event loop: decode, detect, and read when `recognizer`."""
    image = decode(data, header)
    detections = detector.detect(image)[0]
    if recognizer is None or len(detections) == 0:
        return detections
    return read_still(recognizer, image, detections, lambda im: detector.detect(im)[0])


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Run `callback` on the event loop from a worker thread (not once the loop is closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback)


class Slot:
    """One admitted request's place in the pool, given back exactly once."""

    def __init__(self, pool: InferencePool) -> None:
        self._pool: InferencePool | None = pool
        self.handed_off = False

    def release(self) -> None:
        if self._pool is not None:
            self._pool.admitted -= 1
            self._pool = None


class InferencePool:
    """Runs decode + detect on worker threads; at most `workers + queue_size` admitted."""

    def __init__(
        self,
        factory: DetectorFactory,
        workers: int,
        queue_size: int,
        warmup_runs: int,
        metrics: Metrics,
        retry_after: int = 1,
        recognizer_factory: RecognizerFactory | None = None,
    ) -> None:
        self._factory = factory
        self._recognizer_factory = recognizer_factory
        self.recognizer: TextRecognizer | None = None
        self.requested_workers = workers
        self.queue_size = queue_size
        self.warmup_runs = warmup_runs
        self.metrics = metrics
        self.retry_after = retry_after
        self.workers = workers or 1
        self.detector: TextDetector | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.admitted = 0  # event-loop side: queued + running
        self.running = 0  # worker side
        self.ready = False
        self.engine_name = ""
        metrics.add_gauges(
            {
                "queue_depth": (
                    "Requests admitted and waiting for a worker.",
                    lambda: max(self.admitted - self.running, 0),
                ),
                "inflight_inferences": ("Requests a worker is running now.", lambda: self.running),
                "ready": ("1 once the model is loaded and warmed up.", lambda: float(self.ready)),
                "workers": ("Inference worker threads.", lambda: self.workers),
            }
        )

    @property
    def performance_hint(self) -> str | None:
        """The detector engine's OpenVINO PERFORMANCE_HINT; None for other engines."""
        if self.detector is None:
            return None
        return getattr(self.detector.engine, "performance_hint", None)

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    async def start(self) -> None:
        """Load the model and warm it up off the event loop; then report ready."""
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        detector = await loop.run_in_executor(None, self._factory)
        self.detector = detector
        if self._recognizer_factory is not None:
            self.recognizer = await loop.run_in_executor(None, self._recognizer_factory)
        self.engine_name = detector.engine.name
        self.workers = self.requested_workers or auto_workers(detector.engine)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="infer")
        warm = np.full((*WARMUP_SIZE, 3), 255, np.uint8)
        for _ in range(self.warmup_runs):
            await loop.run_in_executor(self._executor, self._warm, warm)
        self.ready = True
        hint = f" {self.performance_hint}" if self.performance_hint else ""
        log.info(
            "model loaded and warmed in %.2f s (%s%s, %d worker(s), queue %d%s)",
            time.perf_counter() - start,
            self.engine_name,
            hint,
            self.workers,
            self.queue_size,
            ", reading text" if self.recognizer is not None else "",
        )

    def _warm(self, image: np.ndarray) -> None:
        assert self.detector is not None
        self.detector.detect(image)
        if self.recognizer is not None:  # one text line's worth of the recognition model
            self.recognizer.read_crops([image[:48, :320]])

    def close(self) -> None:
        self.ready = False
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        if self.detector is not None:
            self.detector.close()
        if self.recognizer is not None:
            self.recognizer.close()

    def _unavailable(self, code: str, message: str) -> RequestError:
        return RequestError(503, code, message, {"Retry-After": str(self.retry_after)})

    @contextlib.contextmanager
    def admission(self) -> Iterator[Slot]:
        """A place in the pool, taken before the request body is read (503 when not ready
        or full): at most `capacity` bodies are held at once. Freed on leaving, unless
        `detect` handed it to a worker: then freed when that worker is done."""
        if not self.ready or self._executor is None:
            raise self._unavailable("not_ready", "model is loading; retry shortly")
        if self.admitted >= self.capacity:
            self.metrics.record_rejected()
            raise self._unavailable(
                "queue_full", f"{self.admitted} requests already queued or running; retry shortly"
            )
        self.admitted += 1
        slot = Slot(self)
        try:
            yield slot
        finally:
            if not slot.handed_off:
                slot.release()

    async def detect(
        self, data: bytes, header: ImageHeader, timeout: float, slot: Slot
    ) -> Detections:
        """Decode, detect (and read) on a worker; 504 after `timeout`. The slot stays
        taken until the worker is really done, so a timed-out request still counts."""
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        work = self._executor.submit(self._work, data, header)
        slot.handed_off = True
        work.add_done_callback(lambda _: _call_soon(loop, slot.release))
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(work)), timeout)
        except asyncio.TimeoutError:
            work.cancel()  # only if still queued; a running worker finishes
            raise RequestError(504, "timeout", f"no result within {timeout:g} s") from None

    def _work(self, data: bytes, header: ImageHeader) -> Detections:
        with self._lock:
            self.running += 1
        start = time.perf_counter()
        try:
            assert self.detector is not None
            return score_image(self.detector, self.recognizer, data, header)
        finally:
            self.metrics.record_inference(time.perf_counter() - start)
            with self._lock:
                self.running -= 1
