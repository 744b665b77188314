"""Sideways stills read upright (REC_UPRIGHT).

A photo of a page lying on its side, a product box turned a quarter, a label running
up a bottle: the detector finds such text less well than upright text, and the reader
reads each tall region on its own. A still whose regions are mostly tall is also
detected and read turned a quarter each way; the turn that reads the most confident
characters is kept, its boxes mapped back to the still's own pixels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import cv2
import numpy as np

from ..geometry import polygon_area, turned_back
from ..results import Detections
from .crop import is_tall
from .reading import read_regions
from .recognizer import TextRecognizer
from .stacked import join_stacked

TALL_SHARE = 0.5  # of the regions, by count or by area: a still "mostly tall"
TURNS = {"ccw": cv2.ROTATE_90_COUNTERCLOCKWISE, "cw": cv2.ROTATE_90_CLOCKWISE}

Detect = Callable[[np.ndarray], Detections]  # a still in, its boxes
Read = Callable[[np.ndarray, Detections], Detections]  # a still and its boxes, read


def mostly_tall(boxes: np.ndarray) -> bool:
    """Whether tall regions are at least TALL_SHARE of the regions or of their area."""
    if not len(boxes):
        return False
    tall = np.array([is_tall(box) for box in boxes], bool)
    areas = np.array([polygon_area(box) for box in boxes])
    area_share = float(areas[tall].sum() / areas.sum()) if areas.sum() > 0 else 0.0
    return bool(tall.mean() >= TALL_SHARE or area_share >= TALL_SHARE)


def confident_characters(detections: Detections) -> float:
    """Characters read, each weighted by its line's confidence (0 when nothing read)."""
    if detections.texts is None or detections.text_scores is None:
        return 0.0
    return float(
        sum(len(t) * float(s) for t, s in zip(detections.texts, detections.text_scores) if t)
    )


def read_upright(
    image: np.ndarray, read: Detections, detect: Detect, read_boxes: Read
) -> Detections:
    """`read` (the still's boxes read as it stands), or the still detected and read
    turned a quarter either way when its regions are mostly tall and a turn reads more
    confidently. (Detecting once and reading the other turn as that still turned half a
    turn costs one detection less but read fewer words on the tuning split.)"""
    if not mostly_tall(read.boxes):
        return read
    best, best_score = read, confident_characters(read)
    size = (image.shape[0], image.shape[1])
    for turn, code in TURNS.items():
        turned = np.ascontiguousarray(cv2.rotate(image, code))
        result = read_boxes(turned, detect(turned))
        score = confident_characters(result)
        if score > best_score:
            back = turned_back(result.boxes, turn, size)
            kept = dataclasses.replace(result, boxes=back, image_size=size, turned=turn)
            best, best_score = kept, score
    return best


def read_still(
    recognizer: TextRecognizer, image: np.ndarray, found: Detections, detect: Detect
) -> Detections:
    """A still's boxes (`found`) read, stacked letters joined (REC_STACKED=auto,
    `join_stacked`), and turned upright when REC_UPRIGHT=auto and `read_upright` finds a
    quarter turn that reads more (`detect`: the still's detector)."""
    read = read_regions(recognizer, [image], [found], still=True)[0][0]
    if recognizer.settings.rec_stacked == "auto":
        read = join_stacked(recognizer, image, read)
    if recognizer.settings.rec_upright == "off":
        return read

    def read_boxes(turned: np.ndarray, boxes: Detections) -> Detections:
        return read_regions(recognizer, [turned], [boxes], still=True)[0][0]

    return read_upright(image, read, detect, read_boxes)
