"""The text detector: pre-process, run the engine, DB post-process."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import cv2
import numpy as np

from ..config import DEFAULT_VIDEO, LOCAL_DATA, DetectorSettings, EngineSettings, TritonSettings
from ..engines import InferenceEngine, open_engine, resolve_engine, submit
from ..engines.base import Collect
from ..errors import ConfigError
from ..models import DET_MODELS
from ..results import Detections, Timings
from . import tiles
from .fp16_check import fp16_check
from .policy import ASSISTS, DetPolicy, merge_passes
from .postprocess import DBPostProcess
from .preprocess import as_bgr, input_size, to_blob
from .profile import profile_for


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def open_detection_engine(
    engine_settings: EngineSettings,
    settings: DetectorSettings = DetectorSettings(),
    triton: TritonSettings | None = None,
    shapes: str = "static",
    frames: bool = False,
) -> InferenceEngine:
    """The engine for MODEL_PATH, built for every input shape `settings` can produce
    (`frames`: for video frames, DET_FRAME_MAX_SIDE_LEN).

    `shapes="dynamic"` suits callers fed images of any size (the HTTP service).
    """
    from ..tuning.select import detection_model

    policy = settings.policy(engine_settings.model_path, frames)
    model, precision = detection_model(engine_settings, policy)
    return open_engine(
        model,
        engine_settings,
        profile_for(policy, engine_settings.trt_max_batch),
        fp16_check(DEFAULT_VIDEO, policy, policy.params),
        precision,
        triton,
        shapes,
    )


def assist_opener(
    engine_settings: EngineSettings, shapes: str
) -> Callable[[str], TextDetector] | None:
    """Opens a DET_ASSIST detector by name on the engine `engine_settings` chooses; None
    where the assist does not run (TensorRT, Triton: their model stores hold one det)."""
    if resolve_engine(engine_settings) not in ("openvino", "onnxruntime"):
        return None

    def open_assist(name: str) -> TextDetector:
        path = LOCAL_DATA / DET_MODELS[name].name
        settings = dataclasses.replace(engine_settings, model_path=path, det_model_dir=None)
        return TextDetector(
            open_engine(path, settings, shapes=shapes), model_path=path, policy=ASSISTS[name]
        )

    return open_assist


@dataclass(frozen=True)
class Prepared:
    """An image pre-processed for the model: its 1x3xHxW blob and source (h, w)."""

    blob: np.ndarray
    image_size: tuple[int, int]
    preprocess_ms: float


class TextDetector:
    """Finds text regions in BGR images; boxes come back in source pixels."""

    def __init__(
        self,
        engine: InferenceEngine,
        settings: DetectorSettings = DetectorSettings(),
        model_path: Path | None = None,
        assists: Callable[[str], TextDetector] | None = None,
        policy: DetPolicy | None = None,
        frames: bool = False,
    ) -> None:
        self.engine = engine
        self.frames = frames  # video frames: DET_FRAME_MAX_SIDE_LEN caps the input
        self.model_path = model_path  # picks the policy (None: PP-OCRv4's)
        self._fixed_policy = policy  # a DET_ASSIST detector's: no DET_* apply to it
        self._assists = assists  # opens DET_ASSIST detectors (None: no assist pass)
        self._assisting: dict[str, TextDetector] = {}
        self._assist_lock = threading.Lock()
        self.engine_settings: EngineSettings | None = None  # set by `open`
        self.shapes = "static"
        self.reconfigure(settings)

    def reconfigure(self, settings: DetectorSettings) -> None:
        """Use new detection parameters from the next image on (between frames)."""
        self.settings = settings
        self.policy: DetPolicy = self._fixed_policy or settings.policy(self.model_path, self.frames)
        self.postprocess = DBPostProcess(self.policy.params)

    @classmethod
    def open(
        cls,
        engine_settings: EngineSettings,
        settings: DetectorSettings = DetectorSettings(),
        triton: TritonSettings | None = None,
        shapes: str = "static",
        frames: bool = False,
    ) -> TextDetector:
        """Open the detection model (MODEL_PATH) on the configured engine; `frames`: for
        video frames (the run loop: DET_FRAME_MAX_SIDE_LEN caps the input)."""
        detector = cls(
            open_detection_engine(engine_settings, settings, triton, shapes, frames),
            settings,
            engine_settings.model_path,
            assist_opener(engine_settings, shapes),
            frames=frames,
        )
        detector.engine_settings, detector.shapes = engine_settings, shapes
        return detector

    def switch_model(self, engine_settings: EngineSettings) -> None:
        """Detect with the model `engine_settings` names from the next image on (a live
        detModelDir), on a CPU engine, only when it takes the current model's policy (a
        fine-tune of the same model: frames already prepared stay valid). ConfigError or
        ModelError otherwise, and the current model stays. Call it between images."""
        if self.engine.name not in ("openvino", "onnxruntime"):
            raise ConfigError(
                f"the detector cannot be switched on {self.engine.name}: restart with "
                "DET_MODEL_DIR (live switches need ENGINE=openvino or onnxruntime)"
            )
        if self.settings.policy(engine_settings.model_path, self.frames) != self.policy:
            raise ConfigError(
                f"{engine_settings.model_label} was fine-tuned from another model than the "
                "running detector's (another policy): restart with DET_MODEL_DIR"
            )
        engine = open_detection_engine(
            engine_settings, self.settings, None, self.shapes, self.frames
        )
        old, self.engine = self.engine, engine
        self.model_path, self.engine_settings = engine_settings.model_path, engine_settings
        old.close()

    def __enter__(self) -> TextDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()
        for assist in self._assisting.values():
            assist.close()

    def input_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        return self.policy.input_size(image_size[0], image_size[1])

    def part_input_size(
        self, part_size: tuple[int, int], whole_size: tuple[int, int]
    ) -> tuple[int, int]:
        """The model input for a part of a larger image at the scale the policy gives the
        whole one (each side a multiple of 32), so the part's text is seen as in the whole."""
        whole_in = self.input_size(whole_size)
        return (
            max(int(round(part_size[0] * whole_in[0] / whole_size[0] / 32)) * 32, 32),
            max(int(round(part_size[1] * whole_in[1] / whole_size[1] / 32)) * 32, 32),
        )

    def detect(
        self, image: np.ndarray, prepared: Prepared | None = None
    ) -> tuple[Detections, Timings]:
        """Detect text in one image (BGR, BGRA or grayscale uint8).

        `prepared`, from `prepare` (e.g. on the frame-reader thread, overlapping the
        previous inference), is used when it still matches the current input size.
        A small image the policy upscales a lot is also detected at its own size, and
        the boxes of both passes merged (`policy.native_pass`): upscaled, large text
        outgrows what the model finds. A large image the policy shrinks is also
        detected in tiles at its own size (`policy.tiled`, `tiles.py`): shrunk, small
        text drops below what the model finds. A small image the policy raises is also
        detected raised further (`policy.zoom_pass`, DET_ZOOM), and boxes found only
        there added. Last, a second model detects a small still (`policy.assist_pass`,
        DET_ASSIST), its boxes added where none was found. Video frames (`submit`) get one pass.
        """
        detections, timings = self.submit([image], [prepared]).result()[0]
        start = time.perf_counter()
        native = self.policy.native_pass(image.shape[0], image.shape[1])
        tiled = self.policy.tiled(image.shape[0], image.shape[1])
        zoom = self.policy.zoom_pass(image.shape[0], image.shape[1])
        bgr = as_bgr(image) if native is not None or tiled or zoom is not None else image
        if native is not None:
            detections = merge_passes(detections, self._detect_at(bgr, native))
        if tiled:
            detections = self._add_tiles(bgr, detections)
        if zoom is not None:
            detections = tiles.add_uncovered(detections, [self._detect_at(bgr, zoom)])
        assist = self._assist(self.policy.assist_pass(image.shape[0], image.shape[1]))
        if assist is not None:
            detections = tiles.add_uncovered(detections, [assist.submit([image]).result()[0][0]])
        return detections, dataclasses.replace(
            timings, inference_ms=timings.inference_ms + _ms_since(start)
        )

    def _assist(self, name: str) -> TextDetector | None:
        """The DET_ASSIST detector `name`, opened at its first still; None when off."""
        if name == "off" or self._assists is None:
            return None
        with self._assist_lock:
            if name not in self._assisting:
                self._assisting[name] = self._assists(name)
            return self._assisting[name]

    def _detect_at(self, image: np.ndarray, size: tuple[int, int]) -> Detections:
        """One extra pass over a BGR image resized to `size` (boxes in its pixels)."""
        return self.submit([image], input_size=size).result()[0][0]

    def _add_tiles(self, image: np.ndarray, whole: Detections) -> Detections:
        """The tile pass (`tiles.py`): tiles at their own size (of an image scaled down to
        `tiles.LARGEST` first, so an 8K or 20000-pixel image costs what a 4K one does)."""
        scale = tiles.scale_for(image.shape[:2])
        if scale < 1.0:
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        side, found = self.policy.tile, []
        for y, x in tiles.origins(image.shape[0], image.shape[1], side):
            tile = image[y : y + side, x : x + side]
            size = input_size(tile.shape[0], tile.shape[1], max(tile.shape[:2]), "max")
            parts = self._detect_at(tile, size)
            found.append(tiles.whole_boxes(parts, (y, x), tile.shape[:2], image.shape[:2]))
        return tiles.add_uncovered(
            whole, [tiles.scaled(part, 1.0 / scale, whole.image_size) for part in found]
        )

    def prepare(self, image: np.ndarray) -> Prepared:
        """Pre-process one image into the model's input blob (thread-safe)."""
        start = time.perf_counter()
        image = as_bgr(image)
        size = self.input_size(image.shape[:2])
        blob = to_blob(image, size, norm=self.policy.norm)
        return Prepared(blob, (image.shape[0], image.shape[1]), _ms_since(start))

    def detect_batch(
        self, images: Sequence[np.ndarray], prepared: Sequence[Prepared | None] | None = None
    ) -> list[tuple[Detections, Timings]]:
        """Detect text in images that share one input size, in one engine call.

        `prepared[i]`, from `prepare` (e.g. on a reader thread), is used for image i when
        it still matches the current input size; the others are pre-processed here.
        """
        return self.submit(images, prepared).result()

    def submit(
        self,
        images: Sequence[np.ndarray],
        prepared: Sequence[Prepared | None] | None = None,
        input_size: tuple[int, int] | None = None,
    ) -> DetectJob:
        """Start detecting `images` (one input size) in one engine call; returns at once
        on engines that infer asynchronously (OpenVINO), so the caller can work on the
        previous job meanwhile. `DetectJob.result()` waits and post-processes.
        `input_size` overrides the policy's model input for all of them (parts of larger
        frames, `part_input_size`); boxes still come back in each image's pixels."""
        start = time.perf_counter()
        sizes = [(image.shape[0], image.shape[1]) for image in images]
        ready = list(prepared) if prepared is not None else [None] * len(images)
        first = ready[0] if len(images) == 1 else None
        if input_size is None and first is not None and self._fits(first, sizes[0]):
            blob, pre_ms = first.blob, first.preprocess_ms
        else:
            blob, pre_ms = self._batch_blob(images, ready, input_size)
            pre_ms += _ms_since(start) / len(images)
        collect = submit(self.engine, {self.engine.inputs[0].name: blob})
        return DetectJob(collect, self.engine.outputs[0].name, self.postprocess, sizes, pre_ms)

    def _fits(self, ready: Prepared | None, size: tuple[int, int]) -> TypeGuard[Prepared]:
        """Whether a reader thread's pre-processed blob serves this image as it is."""
        return (
            ready is not None
            and ready.image_size == size
            and ready.blob.shape[2:] == self.input_size(size)
        )

    def _batch_blob(
        self,
        images: Sequence[np.ndarray],
        ready: Sequence[Prepared | None],
        input_size: tuple[int, int] | None = None,
    ) -> tuple[np.ndarray, float]:
        """One N x 3 x H x W blob at the policy's input size (or `input_size` for all);
        returns it and the reader threads' pre-process ms."""
        size = input_size or self.input_size(images[0].shape[:2])
        batch = np.empty((len(images), 3, size[0], size[1]), np.float32)
        pre_ms = 0.0
        for i, image in enumerate(images):
            if input_size is None and self.input_size(image.shape[:2]) != size:
                raise ValueError("images in one batch must share an input size")
            done = ready[i]
            if input_size is None and self._fits(done, image.shape[:2]):
                batch[i : i + 1] = done.blob
                pre_ms += done.preprocess_ms
            else:
                to_blob(as_bgr(image), size, out=batch[i : i + 1], norm=self.policy.norm)
        return batch, pre_ms / len(images)


class DetectJob:
    """One batch whose inference was submitted; `result()` waits and post-processes."""

    def __init__(
        self,
        collect: Collect,
        output: str,
        postprocess: DBPostProcess,
        sizes: list[tuple[int, int]],
        preprocess_ms: float,
    ) -> None:
        self._collect, self._output, self._postprocess = collect, output, postprocess
        self.sizes, self.preprocess_ms = sizes, preprocess_ms
        self._results: list[tuple[Detections, Timings]] | None = None

    def __len__(self) -> int:
        return len(self.sizes)

    def result(self) -> list[tuple[Detections, Timings]]:
        """(detections, timings) per image, in order (computed once)."""
        if self._results is None:
            outputs, infer_ms = self._collect()
            prob, infer_ms = outputs[self._output], infer_ms / len(self.sizes)
            self._results = []
            for i, size in enumerate(self.sizes):
                start = time.perf_counter()
                detections = self._postprocess(prob[i, 0], size)
                self._results.append(
                    (detections, Timings(self.preprocess_ms, infer_ms, _ms_since(start)))
                )
        return self._results
