"""PP-OCR text recognition of detected regions, batched across regions and frames."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..config import EngineSettings, RecognizerSettings, TritonSettings
from ..detector.preprocess import as_bgr
from ..engines import installed, open_engine
from ..engines.base import pipelined
from ..errors import ModelError
from ..models import MODEL_SETS
from .batching import HEIGHT, aspect, by_aspect, chunks, normalised_batch
from .classifier import AngleClassifier
from .crop import crop_all, is_tall, tall_variants
from .ctc import SPACE_MIN, allowed_classes, charset_from_metadata, greedy_decode

MIN_WIDTH = 320  # PaddleOCR's rec_image_shape width: the narrowest batch input
MAX_WIDTH = 4800  # widest batch input (aspect 100); wider lines are squeezed into it


@dataclass(frozen=True)
class Readings:
    """The text read in each detected region of one image, aligned with its boxes.

    `texts[i]` is the reading of box i, or "" when nothing was read or its confidence
    fell below `min_score`; `scores[i]` (float32) is the reading's mean confidence.
    """

    texts: tuple[str, ...]
    scores: np.ndarray
    min_score: float = 0.0
    turned: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), compare=False)

    @classmethod
    def empty(cls, count: int = 0, min_score: float = 0.0) -> Readings:
        return cls(("",) * count, np.zeros(count, np.float32), min_score, np.zeros(count, bool))

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def read(self) -> np.ndarray:
        """Boolean mask of the regions with a reading."""
        return np.array([bool(text) for text in self.texts], bool)

    def to_dict(self) -> dict[str, Any]:
        return {"texts": list(self.texts), "text_scores": [round(float(s), 4) for s in self.scores]}


def _cpu_only(settings: EngineSettings) -> EngineSettings:
    """TensorRT builds only the detector's engine; recognition runs on the CPU engine then."""
    if settings.use_tensor_rt or settings.engine == "tensorrt":
        return dataclasses.replace(settings, use_tensor_rt=False, engine="auto")
    return settings


def _fastest(settings: RecognizerSettings, engine: EngineSettings) -> EngineSettings:
    """ENGINE=auto on the CPU: the engine measured fastest for the model set's recogniser
    (a REC_MODEL_PATH of one's own keeps the CPU default)."""
    preferred = MODEL_SETS[settings.model_set].rec_cpu_engine
    if (
        engine.engine_name != "auto"
        or engine.ort_providers != "cpu"
        or settings.rec_model_path
        or not preferred
        or not installed(preferred)
    ):
        return engine
    return dataclasses.replace(engine, engine=preferred)


def batch_width(crops: Sequence[np.ndarray]) -> int:
    """Input width for a batch: 48 x the widest aspect, at least 320, at most 4800."""
    ratio = max([MIN_WIDTH / HEIGHT] + [aspect(crop) for crop in crops])
    return min(MAX_WIDTH, int(HEIGHT * ratio))


class TextRecognizer:
    """Reads text lines: crop, optionally turn upside-down lines, CTC-decode in batches."""

    def __init__(
        self,
        engine,
        classifier: AngleClassifier | None = None,
        settings: RecognizerSettings = RecognizerSettings(),
    ) -> None:
        if len(engine.inputs) != 1 or len(engine.outputs) < 1:
            raise ModelError("recognition model must take one [N, 3, 48, W] input")
        classes = engine.outputs[0].shape[-1] if engine.outputs[0].shape else None
        self.charset = charset_from_metadata(engine.metadata, classes)
        self.allowed = allowed_classes(self.charset, settings.rec_lang)
        self.decode_charset = (
            self.charset if self.allowed is None else tuple(self.charset[i] for i in self.allowed)
        )
        self.engine = engine
        self.classifier = classifier
        self.settings = settings
        self.space_min = SPACE_MIN if settings.rec_spaces == "auto" else None
        self.calls = 0  # recognition model calls so far
        self.crops_read = 0

    @classmethod
    def open(
        cls,
        settings: RecognizerSettings = RecognizerSettings(),
        engine_settings: EngineSettings = EngineSettings(),
        triton: TritonSettings | None = None,
    ) -> TextRecognizer:
        """Open the recognition model (and the classifier when USE_ANGLE_CLS is on)."""
        engine = open_engine(
            settings.rec_model,
            _fastest(settings, _cpu_only(engine_settings)),
            triton=triton,
            shapes="dynamic",
        )
        classifier = None
        try:
            if settings.use_angle_cls:
                classifier = AngleClassifier(
                    open_engine(settings.cls_model_path, _cpu_only(engine_settings), triton=triton),
                    settings.rec_batch,
                )
            return cls(engine, classifier, settings)
        except Exception:
            engine.close()
            raise

    def __enter__(self) -> TextRecognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.close()
        if self.classifier is not None:
            self.classifier.engine.close()

    def read_crops(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Raw (text, confidence) of each upright BGR crop, unfiltered, in input order.

        Batches are prepared one ahead and run `pipelined`: on OpenVINO the next batch
        infers while this one is decoded.
        """
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        parts = list(chunks(by_aspect(crops), self.settings.rec_batch))
        batches = (
            normalised_batch(members, batch_width(members))
            for members in ([crops[i] for i in part] for part in parts)
        )
        for part, probs in zip(parts, pipelined(self.engine, batches)):
            self._check(probs, len(part))
            if self.allowed is not None:
                probs = probs[:, :, self.allowed]
            for index, reading in zip(
                part, greedy_decode(probs, self.decode_charset, self.space_min)
            ):
                results[index] = reading
        self.crops_read += len(crops)
        return results

    def recognize(self, image: np.ndarray, boxes: np.ndarray) -> Readings:
        """Read every (N, 4, 2) quadrilateral of one image."""
        return self.recognize_many([(image, boxes)])[0]

    def recognize_many(
        self, images_and_boxes: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> list[Readings]:
        """Read the regions of several images (e.g. frames) together, in shared batches."""
        crops: list[np.ndarray] = []
        owners: list[tuple[int, int]] = []
        counts, tall = [], []
        for number, (image, boxes) in enumerate(images_and_boxes):
            image_crops = crop_all(as_bgr(image), boxes)
            counts.append(len(image_crops))
            for box_index, crop in enumerate(image_crops):
                if crop is not None:
                    crops.append(crop)
                    owners.append((number, box_index))
                    tall.append(is_tall(boxes[box_index]))
        turned = np.zeros(len(crops), bool)
        if self.classifier is not None and crops:
            crops, turned = self.classifier.upright(crops)
        readings = self._read_tall_both_ways(crops, tall) if crops else []
        return self._assemble(counts, owners, readings, turned)

    def _read_tall_both_ways(
        self, crops: list[np.ndarray], tall: list[bool]
    ) -> list[tuple[str, float]]:
        """Every crop read; a tall one also as its `tall_variants`, the most confident
        reading kept (vertical text runs either way, or has stacked upright letters)."""
        extra: list[np.ndarray] = []
        sources: list[int] = []
        for index in (i for i, is_tall_crop in enumerate(tall) if is_tall_crop):
            variants = tall_variants(crops[index])
            extra += variants
            sources += [index] * len(variants)
        readings = self.read_crops(crops + extra)
        best = readings[: len(crops)]
        for index, reading in zip(sources, readings[len(crops) :]):
            if reading[1] > best[index][1]:
                best[index] = reading
        return best

    def _assemble(
        self,
        counts: list[int],
        owners: list[tuple[int, int]],
        readings: list[tuple[str, float]],
        turned: np.ndarray,
    ) -> list[Readings]:
        minimum = self.settings.rec_min_score
        texts = [[""] * count for count in counts]
        scores = [np.zeros(count, np.float32) for count in counts]
        flips = [np.zeros(count, bool) for count in counts]
        for (number, box), (text, score), flip in zip(owners, readings, turned):
            texts[number][box] = text if score >= minimum else ""
            scores[number][box] = score
            flips[number][box] = flip
        return [Readings(tuple(t), s, minimum, f) for t, s, f in zip(texts, scores, flips)]

    def _check(self, probs: np.ndarray, count: int) -> None:
        self.calls += 1
        if probs.ndim != 3 or probs.shape[0] != count:
            raise ModelError(
                f"recognition model returned shape {probs.shape}, expected (N, steps, classes)"
            )
