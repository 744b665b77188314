"""PP-OCR text recognition of detected regions, batched across regions and frames."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from ..config import LOCAL_DATA, EngineSettings, RecognizerSettings, TritonSettings
from ..detector.preprocess import as_bgr
from ..engines import installed, open_engine
from ..engines.base import pipelined
from ..errors import ConfigError, ModelError
from ..models import ACCENTS_FILE, MODEL_SETS
from .accents import Accents
from .batching import HEIGHT, aspect, model_inputs, plan
from .classifier import AngleClassifier
from .constrain import Constraint, PatternError, Reading
from .constrain.extension import extended
from .crop import UPSCALE_BELOW, crop_all, crop_quad, is_tall, tall_variants, upscale_of
from .ctc import SPACE_MIN, allowed_classes, charset_from_metadata, greedy_decode
from .readings import Readings
from .spelling import Choices, alternatives, respell
from .zones import CompiledZones, ZoneSet


class _Keep:
    """The recogniser's own constraint (REC_PATTERN / REC_LEXICON), not an override."""


KEEP = _Keep()
Chosen = Constraint | None | _Keep


def _cpu_only(settings: EngineSettings) -> EngineSettings:
    """TensorRT builds only the detector's engine; recognition runs on the CPU engine then."""
    if settings.use_tensor_rt or settings.engine == "tensorrt":
        return dataclasses.replace(settings, use_tensor_rt=False, engine="auto")
    return settings


def _fastest(settings: RecognizerSettings, engine: EngineSettings) -> EngineSettings:
    """ENGINE=auto on the CPU: the engine measured fastest for the model set's recogniser
    (a REC_MODEL_PATH or REC_MODEL_DIR of one's own keeps the CPU default)."""
    preferred = MODEL_SETS[settings.model_set].rec_cpu_engine
    if (
        engine.engine_name != "auto"
        or engine.ort_providers != "cpu"
        or settings.rec_model_path
        or settings.rec_model_dir
        or not preferred
        or not installed(preferred)
    ):
        return engine
    return dataclasses.replace(engine, engine=preferred)


def _constraint(
    settings: RecognizerSettings, charset: tuple[str, ...], allowed: np.ndarray | None
) -> Constraint | None:
    """REC_PATTERN or REC_LEXICON bound to the model's dictionary; ConfigError when it
    cannot match (or the lexicon cannot be read)."""
    if not settings.rec_pattern and settings.rec_lexicon is None:
        return None
    name = "REC_PATTERN" if settings.rec_pattern else "REC_LEXICON"
    try:
        return Constraint(
            settings.rec_pattern,
            charset,
            allowed,
            settings.rec_lexicon,
            settings.rec_lexicon_min_score if settings.rec_lexicon else 0.0,
        )
    except PatternError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _steps(crop: np.ndarray, width: int, probs: np.ndarray) -> int:
    """Output steps covering `crop` in a batch `width` wide (the rest is padding)."""
    used = min(width, math.ceil(HEIGHT * aspect(crop)))
    return min(len(probs), math.ceil(len(probs) * used / width) + 1)


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
        self.allowed = allowed_classes(self.charset, settings.rec_lang, settings.rec_allowed_chars)
        if self.allowed is not None and len(self.allowed) <= 2:
            raise ConfigError(
                f"REC_ALLOWED_CHARS {settings.rec_allowed_chars!r} allows no character of the "
                f"recognition model's dictionary (within REC_LANG={settings.rec_lang})"
            )
        self.constraint = _constraint(settings, self.charset, self.allowed)
        self.settings_lang = settings.rec_lang
        self.allowed_chars = settings.rec_allowed_chars
        self.lexicon_min_score = settings.rec_lexicon_min_score
        self.zones = self.compile_zones(settings.zones) if settings.zones is not None else None
        self.decode_charset = (
            self.charset if self.allowed is None else tuple(self.charset[i] for i in self.allowed)
        )
        self.engine = engine
        self.classifier = classifier
        self.settings = settings
        self.space_min = SPACE_MIN if settings.rec_spaces == "auto" else None
        on = settings.accents_on or settings.spelling_on
        self.words = Accents.load(LOCAL_DATA / ACCENTS_FILE) if on else None
        self.calls = 0  # recognition model calls so far
        self.crops_read = 0
        self._closed = False

    def compile_zones(self, zones: ZoneSet) -> CompiledZones:
        """ZONES bound to this model's dictionary (ConfigError when a zone cannot match)."""
        return CompiledZones(
            zones,
            self.charset,
            self.settings_lang,
            self.allowed_chars,
            self.lexicon_min_score,
        )

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

    @property
    def closed(self) -> bool:
        """Whether `close()` released the models."""
        return self._closed

    def close(self) -> None:
        """Release the models (again: a no-op)."""
        if self.closed:
            return
        self._closed = True
        self.engine.close()
        if self.classifier is not None:
            self.classifier.engine.close()

    def read_crops(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) of each upright BGR crop, unfiltered, in input order."""
        return [(r.text, r.score) for r in self.read_lines(crops)]

    def plan(self, crops: Sequence[np.ndarray]) -> list[tuple[np.ndarray, int]]:
        """This recogniser's batches of `crops` (REC_BATCH, REC_PADDING): `batching.plan`."""
        return plan(crops, self.settings.rec_batch, self.settings.rec_padding)

    def read_lines(self, crops: Sequence[np.ndarray], constraint: Chosen = KEEP) -> list[Reading]:
        """The `Reading` of each upright BGR crop, unfiltered, in input order.

        Batches (`plan`) are prepared one ahead and run `pipelined`:
        on OpenVINO the next batch infers while this one is decoded. REC_PATTERN then
        searches each line of the batch's output (`constraint`: another one, e.g. a
        zone's; None: no pattern).
        """
        results: list[Reading] = [Reading.plain("", 0.0)] * len(crops)
        parts = self.plan(crops)
        for (part, width), probs in zip(parts, pipelined(self.engine, model_inputs(crops, parts))):
            self._check(probs, len(part))
            masked = probs if self.allowed is None else probs[:, :, self.allowed]
            raw = greedy_decode(masked, self.decode_charset, self.space_min)
            for index, row, decoded, reading in zip(part, probs, masked, raw):
                steps = _steps(crops[index], width, row)
                results[index] = self._constrain(row, decoded, reading, steps, constraint)
        self.crops_read += len(crops)
        return results

    def _chosen(self, constraint: Chosen) -> Constraint | None:
        return self.constraint if isinstance(constraint, _Keep) else constraint

    def _constrain(
        self,
        probs: np.ndarray,
        decoded: np.ndarray,
        raw: tuple[str, float],
        steps: int,
        constraint: Chosen = KEEP,
    ) -> Reading:
        """One line's Reading from its class probabilities (`decoded`: those of the
        classes REC_LANG allows), its greedy reading `raw` and its `steps`."""
        chosen = self._chosen(constraint)
        if chosen is None:
            if not self.settings.spelling_on or not raw[0]:
                return Reading.plain(*raw)
            return dataclasses.replace(Reading.plain(*raw), choices=Choices.of(decoded, steps))
        return chosen.read(probs, raw, steps)

    def recognize(self, image: np.ndarray, boxes: np.ndarray) -> Readings:
        """Read every (N, 4, 2) quadrilateral of one image."""
        return self.recognize_many([(image, boxes)])[0]

    def recognize_many(
        self,
        images_and_boxes: Sequence[tuple[np.ndarray, np.ndarray]],
        join: bool = True,
        constraint: Chosen = KEEP,
        still: bool = False,
        tall_variants: bool = True,
    ) -> list[Readings]:
        """Read the regions of several images (e.g. frames) together, in shared batches.

        With a pattern and `join`, runs of boxes matching together become one reading
        (`Readings.runs`: fewer readings than boxes); `join=False` keeps one per box.
        `constraint` reads these boxes under another constraint (a zone's; None: none).
        `still`: the images are stills (`detect`, `serve`): REC_UPSCALE applies.
        `tall_variants=False`: tall crops are read as PaddleOCR turns them, one way."""
        crops: list[np.ndarray] = []
        owners: list[tuple[int, int]] = []
        tall = []
        images, boxes_of = [i for i, _ in images_and_boxes], [b for _, b in images_and_boxes]
        bgr = [as_bgr(image) for image in images]
        for number, boxes in enumerate(boxes_of):
            image_crops = crop_all(bgr[number], boxes)
            for box_index, crop in enumerate(image_crops):
                if crop is not None:
                    crops.append(crop)
                    owners.append((number, box_index))
                    tall.append(tall_variants and is_tall(boxes[box_index]))
        turned = np.zeros(len(crops), bool)
        if self.classifier is not None and crops:
            crops, turned = self.classifier.upright(crops)
        readings = self._read_tall_both_ways(crops, tall, constraint) if crops else []
        if still and self.settings.rec_upscale == "auto" and crops:
            self._read_thin_again(bgr, boxes_of, owners, readings, turned, constraint)
        return self._assemble(images, boxes_of, owners, readings, turned, join, constraint)

    def _read_thin_again(
        self,
        bgr: list[np.ndarray],
        boxes_of: list[np.ndarray],
        owners: list[tuple[int, int]],
        readings: list[Reading],
        turned: np.ndarray,
        constraint: Chosen = KEEP,
    ) -> None:
        """REC_UPSCALE: each thin region that read something, less confidently than
        `UPSCALE_BELOW`, is cut out again larger (`upscale_of`) and read; the more
        confident reading replaces it in `readings`."""
        minimum, short = self.settings.rec_min_score, self.settings.rec_min_score_short
        picked, crops = [], []
        for index, (number, box) in enumerate(owners):
            quad = boxes_of[number][box]
            scale = upscale_of(quad)
            reading = readings[index]
            if (
                scale == 1.0
                or reading.raw_score >= UPSCALE_BELOW
                or not reading.kept(minimum, short)
            ):
                continue
            crop = crop_quad(bgr[number], quad, scale)
            if crop is not None:
                picked.append(index)
                crops.append(np.ascontiguousarray(np.rot90(crop, 2)) if turned[index] else crop)
        for index, reading in zip(picked, self.read_lines(crops, constraint)):
            if (reading.matched, reading.raw_score) > (
                readings[index].matched,
                readings[index].raw_score,
            ):
                readings[index] = reading

    def _read_tall_both_ways(
        self, crops: list[np.ndarray], tall: list[bool], constraint: Chosen = KEEP
    ) -> list[Reading]:
        """Every crop read; a tall one also as its `tall_variants`, the most confident
        reading kept (vertical text runs either way, or has stacked upright letters)."""
        extra: list[np.ndarray] = []
        sources: list[int] = []
        for index in (i for i, is_tall_crop in enumerate(tall) if is_tall_crop):
            variants = tall_variants(crops[index])
            extra += variants
            sources += [index] * len(variants)
        readings = self.read_lines(crops + extra, constraint)
        best = readings[: len(crops)]
        for index, reading in zip(sources, readings[len(crops) :]):
            if (reading.matched, reading.raw_score) > (best[index].matched, best[index].raw_score):
                best[index] = reading
        return best

    def _assemble(
        self,
        images: list[np.ndarray],
        boxes: list[np.ndarray],
        owners: list[tuple[int, int]],
        readings: list[Reading],
        turned: np.ndarray,
        join: bool = True,
        constraint: Chosen = KEEP,
    ) -> list[Readings]:
        per_image = [[Reading.plain("", 0.0)] * len(b) for b in boxes]
        flips = [np.zeros(len(b), bool) for b in boxes]
        for (number, box), reading, flip in zip(owners, readings, turned):
            per_image[number][box] = reading
            flips[number][box] = flip
        return [
            self._readings(image, b, r, f, join, constraint)
            for image, b, r, f in zip(images, boxes, per_image, flips)
        ]

    def _readings(
        self,
        image: np.ndarray,
        boxes: np.ndarray,
        readings: list[Reading],
        flips: np.ndarray,
        join: bool = True,
        constraint: Chosen = KEEP,
    ) -> Readings:
        """One image's Readings; with a pattern, runs of boxes matching together joined
        and boxes ending in an unfinished match read again extended."""
        minimum, short = self.settings.rec_min_score, self.settings.rec_min_score_short
        chosen = self._chosen(constraint)
        if chosen is None:
            plain = Readings.of(readings, flips, minimum, short=short)
            return plain if self.words is None else self._settled(plain, readings)
        runs = chosen.join(boxes, readings, minimum) if join else []
        in_runs = {i for run in runs for i in run}
        todo = [i for i, r in enumerate(readings) if i not in in_runs and chosen.incomplete(r)]
        grown = {}
        if todo:
            quads = [extended(boxes[i], image.shape) for i in todo]
            crops = crop_all(as_bgr(image), np.asarray(quads))
            valid = [k for k, crop in enumerate(crops) if crop is not None]
            grown_crops = [c for c in crops if c is not None]
            for k, reading in zip(valid, self.read_lines(grown_crops, chosen)):
                if reading.matched and reading.kept(minimum):
                    readings[todo[k]] = reading
                    grown[todo[k]] = quads[k]
        return Readings.of(readings, flips, minimum, chosen.name, runs, grown, short=short)

    def _settled(self, plain: Readings, readings: list[Reading]) -> Readings:
        """`plain`'s words respelled (REC_SPELLING), then their accents set (REC_ACCENTS),
        both in the language voted on once. (Respelling turns unknown words into words
        of that language only, so a vote after it would choose the same one.)"""
        assert self.words is not None
        texts = plain.texts
        lang = self.words.vote(texts)
        if self.settings.spelling_on:

            def options(index: int) -> list[tuple[str, float]]:
                choices = readings[index].choices
                if choices is None:
                    return []
                return alternatives(choices, self.decode_charset, self.space_min)

            # No language voted (no word known): respelling falls back to the first list
            # without voting again on the same texts.
            spell_lang = lang or self.words.langs[0]
            texts = respell(self.words, texts, options, self.space_min is not None, spell_lang)
        if self.settings.accents_on:
            texts = self.words.restore(texts, lang)
        return dataclasses.replace(plain, texts=texts)

    def _check(self, probs: np.ndarray, count: int) -> None:
        self.calls += 1
        if probs.ndim != 3 or probs.shape[0] != count:
            raise ModelError(
                f"recognition model returned shape {probs.shape}, expected (N, steps, classes)"
            )
