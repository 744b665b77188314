"""`detect`: run the detector on image files or folders and print the boxes."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import (
    DetectorSettings,
    EngineSettings,
    RecognizerSettings,
    TritonSettings,
    add_arguments,
    load,
)
from ..detector import TextDetector
from ..errors import SourceError
from ..recognizer import TextRecognizer, read_still
from ..results import Detections, Timings
from .annotate import Annotator

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def add_detect_parser(commands: Any) -> None:
    detect = commands.add_parser(
        "detect",
        help="detect text in image files or folders",
        description="Detect and read text in image files (folders are searched for images) "
        "and print the boxes (four [x, y] points per box in source pixels, with "
        "scores) and the text read in each.",
    )
    detect.add_argument("paths", nargs="+", metavar="PATH", help="image file or folder")
    detect.add_argument("--json", action="store_true", help="print one JSON document")
    detect.add_argument(
        "--annotate",
        metavar="DIR",
        default="",
        help="also write each image with its boxes, text and scores drawn to DIR (made if "
        "missing), under the input's file name",
    )
    add_arguments(detect, EngineSettings, "inference engine")
    add_arguments(detect, DetectorSettings, "detection")
    add_arguments(detect, RecognizerSettings, "text recognition")
    detect.set_defaults(handler=detect_command)


def image_paths(paths: list[str]) -> Iterator[Path]:
    """Each image file named, or found (sorted) in a named folder."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def read_image(path: Path) -> np.ndarray:
    if not path.is_file():
        raise SourceError(f"image not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"not a readable image: {path}")
    return image


def detect_command(args: argparse.Namespace) -> int:
    engine_settings = load(EngineSettings, args=args)
    detector_settings = load(DetectorSettings, args=args)
    rec_settings = load(RecognizerSettings, args=args)
    results: list[dict[str, Any]] = []
    failures = 0
    triton = load(TritonSettings)
    annotated = Annotator.checked(args.annotate, args.paths) if args.annotate else None
    with (
        TextDetector.open(engine_settings, detector_settings, triton, "dynamic") as detector,
        _recognizer(rec_settings, engine_settings, triton) as recognizer,
    ):
        for path in image_paths(args.paths):
            entry = _detect_one(detector, recognizer, path, annotated)
            failures += "error" in entry
            results.append(entry)
            if not args.json:
                _print_entry(entry)
        engine = detector.engine.name
    if args.json:
        print(
            json.dumps(
                {"model": engine_settings.model_label, "engine": engine, "results": results},
                indent=1,
            )
        )
    if not results:
        print("error: no images found in " + " ".join(args.paths), file=sys.stderr)
        return 4
    return 4 if failures else 0


def _recognizer(
    settings: RecognizerSettings, engine: EngineSettings, triton: TritonSettings
) -> contextlib.AbstractContextManager:
    if not settings.read_text:
        return contextlib.nullcontext(None)
    return TextRecognizer.open(settings, engine, triton)


def read_lines_of(
    detector: TextDetector, recognizer: TextRecognizer, image: np.ndarray
) -> list[str]:
    """The text lines of one image as `detect` reads them, in reading order."""
    return [line.text for line in read_image_text(detector, recognizer, image)[0].lines()]


def read_image_text(
    detector: TextDetector, recognizer: TextRecognizer, image: np.ndarray
) -> tuple[Detections, Timings]:
    """One still detected and read as `detect` does (turned upright when REC_UPRIGHT
    finds it lies on its side); the reading's time, upright passes included, in the timings."""
    detections, timings = detector.detect(image)
    start = time.perf_counter()
    detections = read_still(recognizer, image, detections, lambda im: detector.detect(im)[0])
    ms = (time.perf_counter() - start) * 1000.0
    return detections, dataclasses.replace(timings, recognition_ms=ms)


def _detect_one(
    detector: TextDetector,
    recognizer: TextRecognizer | None,
    path: Path,
    annotated: Annotator | None = None,
) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        image = read_image(path)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return {"source": str(path), "error": str(exc)}
    if recognizer is not None:
        detections, timings = read_image_text(detector, recognizer, image)
    else:
        detections, timings = detector.detect(image)
    entry = {
        "source": str(path),
        "width": image.shape[1],
        "height": image.shape[0],
        **detections.to_dict(),
        "timings": timings.to_dict(),
    }
    entry["timings"]["wall_ms"] = round((time.perf_counter() - start) * 1000, 2)
    if annotated is not None:
        entry["annotated"] = str(annotated.write(path, image, detections))
    return entry


def _print_entry(entry: dict[str, Any]) -> None:
    if "error" in entry:
        return
    print(
        f"{entry['source']}: {entry['count']} text regions ({entry['timings']['total_ms']:.1f} ms)"
    )
    texts = entry.get("texts") or [None] * entry["count"]
    for box, score, text in zip(entry["boxes"], entry["scores"], texts):
        points = " ".join(f"{x:.0f},{y:.0f}" for x, y in box)
        read = f"  {text!r}" if text else ""
        print(f"  {score:.3f}  {points}{read}")
