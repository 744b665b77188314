"""Fixtures for the recognition tests: the real rec/cls models and RapidOCR's reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from components import need

from textdetector.config import EngineSettings

LOCAL_DATA = Path(__file__).resolve().parent.parent / "local_data"
REC_MODEL = LOCAL_DATA / "ch_PP-OCRv4_rec_infer.onnx"
CLS_MODEL = LOCAL_DATA / "ch_ppocr_mobile_v2.0_cls_infer.onnx"


ORT = EngineSettings(engine="onnxruntime")


@contextmanager
def detector_and_readers(**off: str) -> Iterator[tuple]:
    """The default detector, a recogniser at the defaults and one with the settings
    `off` (e.g. rec_spelling="off"), on ONNX Runtime: a setting's effect on real stills."""
    from textdetector.config import DetectorSettings, RecognizerSettings
    from textdetector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer

    with (
        TextDetector.open(ORT, DetectorSettings(), shapes="dynamic") as detector,
        TextRecognizer.open(RecognizerSettings(), ORT) as auto,
        TextRecognizer.open(RecognizerSettings(**off), ORT) as without,
    ):
        yield detector, auto, without


@pytest.fixture(scope="session")
def rec_model_path() -> Path:
    need(
        REC_MODEL.is_file() and CLS_MODEL.is_file(), "recognition models missing: run `make setup`"
    )
    return REC_MODEL


@pytest.fixture(scope="session")
def recognizer(rec_model_path: Path):
    from textdetector.config import RecognizerSettings
    from textdetector.recognizer import TextRecognizer

    # ONNX Runtime, plain greedy decoding (REC_SPACES=off) and batches padded to their
    # widest line (REC_PADDING=batch), every reading over REC_MIN_SCORE kept
    # (REC_MIN_SCORE_SHORT=0), words as read (REC_ACCENTS=off, REC_SPELLING=off), as in
    # RapidOCR: the parity tests compare strings exactly and scores to 1e-6
    settings = RecognizerSettings(
        rec_model_path=rec_model_path,
        cls_model_path=CLS_MODEL,
        rec_spaces="off",
        rec_padding="batch",
        rec_min_score_short=0.0,
        rec_accents="off",
        rec_spelling="off",
    )
    with TextRecognizer.open(settings, ORT) as rec:
        yield rec


@pytest.fixture(scope="session")
def cls_recognizer(rec_model_path: Path):
    from textdetector.config import RecognizerSettings
    from textdetector.recognizer import TextRecognizer

    settings = RecognizerSettings(
        rec_model_path=rec_model_path, cls_model_path=CLS_MODEL, use_angle_cls=True
    )
    with TextRecognizer.open(settings, ORT) as rec:
        yield rec


@pytest.fixture(scope="session")
def rapid_rec(rec_model_path: Path):
    """RapidOCR 1.4.4's own TextRecognizer on the same model, at PaddleOCR's settings."""
    module = pytest.importorskip("rapidocr_onnxruntime.ch_ppocr_rec")
    return module.TextRecognizer(
        {"model_path": str(rec_model_path), "rec_batch_num": 6, "rec_img_shape": [3, 48, 320]}
    )


def rapid_crops(image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """RapidOCR's crops of `boxes` (its get_crop_img_list does not use its instance)."""
    from rapidocr_onnxruntime.main import RapidOCR

    return RapidOCR.get_crop_img_list(None, image, list(np.asarray(boxes, np.float32)))


def render_line(
    text: str, height: int = 48, width: int | None = None, size: int = 30
) -> np.ndarray:
    """A black-on-white BGR line of text in DejaVu Sans (shipped with matplotlib)."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_file = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    font = ImageFont.truetype(str(font_file), size)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("RGB", (width or right - left + 20, height), (255, 255, 255))
    ImageDraw.Draw(canvas).text(
        (10 - left, (height - bottom - top) // 2), text, font=font, fill=(0, 0, 0)
    )
    return np.ascontiguousarray(np.asarray(canvas)[:, :, ::-1])


def full_box(image: np.ndarray) -> np.ndarray:
    """The (1, 4, 2) quadrilateral covering the whole image."""
    h, w = image.shape[:2]
    return np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float32)
