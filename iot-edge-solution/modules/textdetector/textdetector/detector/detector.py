"""The text detector: pre-process, run the engine, DB post-process."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..config import DEFAULT_VIDEO, DetectorSettings, EngineSettings, TritonSettings
from ..engines import InferenceEngine, open_engine, run_single
from .fp16_check import fp16_check
from .postprocess import DBParams, DBPostProcess
from .preprocess import as_bgr, input_size, to_blob
from .profile import profile_for
from ..results import Detections, Timings


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def params_of(settings: DetectorSettings) -> DBParams:
    """The DB post-process parameters of the detection settings."""
    return DBParams(settings.det_thresh, settings.box_thresh, settings.unclip_ratio,
                    settings.max_candidates)


def open_detection_engine(engine_settings: EngineSettings,
                          settings: DetectorSettings = DetectorSettings(),
                          triton: TritonSettings | None = None,
                          shapes: str = "static") -> InferenceEngine:
    """The engine for MODEL_PATH, built for every input shape `settings` can produce.

    `shapes="dynamic"` suits callers fed images of any size (the HTTP service).
    """
    from ..tuning.select import detection_model

    model, precision = detection_model(engine_settings, settings.limit_side_len)
    return open_engine(model, engine_settings,
                       profile_for(settings.limit_side_len, engine_settings.trt_max_batch),
                       fp16_check(DEFAULT_VIDEO, settings.limit_side_len, params_of(settings)),
                       precision, triton, shapes)


@dataclass(frozen=True)
class Prepared:
    """An image pre-processed for the model: its 1x3xHxW blob and source (h, w)."""

    blob: np.ndarray
    image_size: tuple[int, int]
    preprocess_ms: float


class TextDetector:
    """Finds text regions in BGR images; boxes come back in source pixels."""

    def __init__(self, engine: InferenceEngine,
                 settings: DetectorSettings = DetectorSettings()) -> None:
        self.engine = engine
        self.reconfigure(settings)

    def reconfigure(self, settings: DetectorSettings) -> None:
        """Use new detection parameters from the next image on (between frames)."""
        self.settings = settings
        self.postprocess = DBPostProcess(params_of(settings))

    @classmethod
    def open(cls, engine_settings: EngineSettings,
             settings: DetectorSettings = DetectorSettings(),
             triton: TritonSettings | None = None, shapes: str = "static") -> "TextDetector":
        """Open the detection model (MODEL_PATH) on the configured engine."""
        return cls(open_detection_engine(engine_settings, settings, triton, shapes), settings)

    def __enter__(self) -> "TextDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()

    def input_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        return input_size(image_size[0], image_size[1], self.settings.limit_side_len)

    def detect(self, image: np.ndarray,
               prepared: Prepared | None = None) -> tuple[Detections, Timings]:
        """Detect text in one image (BGR, BGRA or grayscale uint8).

        `prepared`, from `prepare` (e.g. on the frame-reader thread, overlapping the
        previous inference), is used when it still matches the current input size.
        """
        size = tuple(image.shape[:2])
        if prepared is None or prepared.image_size != size \
                or prepared.blob.shape[2:] != self.input_size(size):
            prepared = self.prepare(image)
        start = time.perf_counter()
        prob = run_single(self.engine, prepared.blob)
        infer_ms = _ms_since(start)
        start = time.perf_counter()
        detections = self.postprocess(prob[0, 0], prepared.image_size)
        return detections, Timings(prepared.preprocess_ms, infer_ms, _ms_since(start))

    def prepare(self, image: np.ndarray) -> Prepared:
        """Pre-process one image into the model's input blob (thread-safe)."""
        start = time.perf_counter()
        image = as_bgr(image)
        size = self.input_size(image.shape[:2])
        blob = to_blob(image, size)
        return Prepared(blob, (image.shape[0], image.shape[1]), _ms_since(start))

    def detect_batch(self, images: Sequence[np.ndarray],
                     prepared: Sequence[Prepared | None] | None = None
                     ) -> list[tuple[Detections, Timings]]:
        """Detect text in images that share one input size, in one engine call.

        `prepared[i]`, from `prepare` (e.g. on a reader thread), is used for image i when
        it still matches the current input size; the others are pre-processed here.
        """
        if len(images) == 1:  # no batch copy for one image
            return [self.detect(images[0], prepared[0] if prepared is not None else None)]
        start = time.perf_counter()
        images = [as_bgr(image) for image in images]
        size = self.input_size(images[0].shape[:2])
        batch = np.empty((len(images), 3, size[0], size[1]), np.float32)
        pre_ms = 0.0
        for i, image in enumerate(images):
            if self.input_size(image.shape[:2]) != size:
                raise ValueError("images in one batch must share an input size")
            ready = prepared[i] if prepared is not None else None
            if ready is not None and ready.blob.shape[2:] == size:
                batch[i:i + 1] = ready.blob
                pre_ms += ready.preprocess_ms
            else:
                to_blob(image, size, out=batch[i:i + 1])
        pre_ms = (pre_ms + _ms_since(start)) / len(images)
        start = time.perf_counter()
        prob = run_single(self.engine, batch)
        infer_ms = _ms_since(start) / len(images)
        results = []
        for i, image in enumerate(images):
            start = time.perf_counter()
            detections = self.postprocess(prob[i, 0], image.shape[:2])
            results.append((detections, Timings(pre_ms, infer_ms, _ms_since(start))))
        return results
