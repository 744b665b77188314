"""Sideways stills read upright (REC_UPRIGHT).

A photo of a page lying on its side, a product box turned a quarter, a label running
up a bottle: the detector finds such text less well than upright text, and the reader
reads each tall region on its own. A still whose regions are mostly tall is also
detected and read turned a quarter each way; the turn that reads the most confident
characters is kept, its boxes mapped back to the still's own pixels. A page photographed
upside down has wide regions that read as garbage: when its largest regions read more
confident characters turned half a turn (`upside_down`), the still is also detected and
read turned half a turn, and the same rule keeps one reading. A still with a few tall
regions among wide ones (a label running up a box's side beside upright print, numbers
round a dial) is read turned a quarter each way too, and the wide regions of the turn
that reads them best take the place of the still's tall ones (`with_tall_read_turned`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from ..detector.preprocess import as_bgr
from ..geometry import polygon_area, turned_back
from ..results import Detections
from .crop import crop_all, is_tall
from .reading import read_regions
from .recognizer import TextRecognizer
from .stacked import join_stacked

TALL_SHARE = 0.5  # of the regions, by count or by area: a still "mostly tall"
TURNS = {
    "ccw": cv2.ROTATE_90_COUNTERCLOCKWISE,
    "cw": cv2.ROTATE_90_CLOCKWISE,
    "half": cv2.ROTATE_180,
}
QUARTERS = ("ccw", "cw")
VOTERS = 8  # the largest regions read both ways up to decide on a half turn

Detect = Callable[[np.ndarray], Detections]  # a still in, its boxes
Read = Callable[[np.ndarray, Detections], Detections]  # a still and its boxes, read
Vote = Callable[[np.ndarray, Detections], bool]  # a still and its reading: upside down?
Sample = Callable[[np.ndarray, Detections], float]  # a still and its boxes: a quick score


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


def largest_crops(image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """The crops of the still's largest regions (`VOTERS`), as the reader cuts them."""
    largest = np.argsort([-polygon_area(box) for box in boxes], kind="stable")[:VOTERS]
    return [c for c in crop_all(as_bgr(image), boxes[largest]) if c is not None]


def weights(recognizer: TextRecognizer, crops: list[np.ndarray]) -> list[float]:
    """Each crop's characters read once (no variants), weighted by their confidence."""
    return [len(r.raw) * r.raw_score for r in recognizer.read_lines(crops)] if crops else []


def upside_down(recognizer: TextRecognizer, image: np.ndarray, read: Detections) -> bool:
    """Whether the still's largest regions (`VOTERS`) read more confident characters
    turned half a turn than as they stand: a still worth reading upside down."""
    if not len(read.boxes):
        return False
    crops = largest_crops(image, read.boxes)
    weight = weights(recognizer, crops + [np.ascontiguousarray(np.rot90(c, 2)) for c in crops])
    return sum(weight[len(crops) :]) > sum(weight[: len(crops)])


def sample_score(recognizer: TextRecognizer, image: np.ndarray, found: Detections) -> float:
    """The confident characters of a still's largest regions (`VOTERS`), each read once:
    which of two quarter turns is the upright one."""
    return float(sum(weights(recognizer, largest_crops(image, found.boxes))))


def read_upright(
    image: np.ndarray,
    read: Detections,
    detect: Detect,
    read_boxes: Read,
    upside_down: Vote = lambda image, read: False,
    sample: Sample | None = None,
) -> Detections:
    """`read` (the still's boxes read as it stands), or the still detected and read
    turned a quarter either way when its regions are mostly tall, or half a turn when
    `upside_down` says so, and a turn reads more confidently; else its tall regions read
    turned (`with_tall_read_turned`). (Detecting once and reading the other quarter as
    that still turned half a turn costs one detection less but read fewer words on the
    tuning split.) `sample` (a quick score of a turned still's boxes), when given, picks
    the one quarter turn worth reading whole."""
    if mostly_tall(read.boxes):
        return best_turn(image, read, QUARTERS, detect, read_boxes, sample)
    if upside_down(image, read):
        best = best_turn(image, read, ("half",), detect, read_boxes)
        if best is not read:
            return best
    return with_tall_read_turned(image, read, detect, read_boxes, sample)


def turned_still(image: np.ndarray, turn: str) -> np.ndarray:
    """The still turned `turn` (`TURNS`)."""
    return np.ascontiguousarray(cv2.rotate(image, TURNS[turn]))


def detected_turns(
    image: np.ndarray, turns: tuple[str, ...], detect: Detect, sample: Sample | None
) -> list[tuple[str, np.ndarray, Detections]]:
    """Each turn's still and its boxes; with `sample`, only the turn whose boxes sample
    best (the first on a tie)."""
    stills = [(turn, turned_still(image, turn)) for turn in turns]
    found = [(turn, still, detect(still)) for turn, still in stills]
    if sample is None or len(found) < 2:
        return found
    scores = [sample(still, boxes) for _, still, boxes in found]
    return [found[int(np.argmax(scores))]]


def best_turn(
    image: np.ndarray,
    read: Detections,
    turns: tuple[str, ...],
    detect: Detect,
    read_boxes: Read,
    sample: Sample | None = None,
) -> Detections:
    """`read`, or the still detected and read in one of `turns` when that reads more
    confident characters, its boxes in the still's own pixels (`sample`: see
    `detected_turns`)."""
    best, best_score = read, confident_characters(read)
    size = (image.shape[0], image.shape[1])
    for turn, still, found in detected_turns(image, turns, detect, sample):
        result = read_boxes(still, found)
        score = confident_characters(result)
        if score > best_score:
            back = turned_back(result.boxes, turn, size)
            kept = dataclasses.replace(result, boxes=back, image_size=size, turned=turn)
            best, best_score = kept, score
    return best


def with_tall_read_turned(
    image: np.ndarray,
    read: Detections,
    detect: Detect,
    read_boxes: Read,
    sample: Sample | None = None,
) -> Detections:
    """`read`, or, when it holds tall regions, those replaced by the wide regions of the
    still detected and read turned a quarter (the turn whose wide regions read the most
    confident characters, and more than the tall regions did), mapped back to the
    still's pixels; the still's wide regions stay as read. Plain readings only (not with
    REC_PATTERN or ZONES)."""
    tall = np.array([is_tall(box) for box in read.boxes], bool)
    if not tall.any() or not read.plain():
        return read
    size = (image.shape[0], image.shape[1])
    best, best_score = None, confident_characters(read.take(tall))
    for turn, still, found in detected_turns(image, QUARTERS, wide_only(detect), sample):
        result = read_boxes(still, found)
        texts = result.texts or ("",) * len(result)  # wide_only: every box is wide here
        wide = result.take(np.array([bool(t) for t in texts], bool))
        score = confident_characters(wide)
        if score > best_score and wide.plain():
            back = turned_back(wide.boxes, turn, size)
            best, best_score = dataclasses.replace(wide, boxes=back, image_size=size), score
    return read if best is None else read.take(~tall).extended(best)


def wide_only(detect: Detect) -> Detect:
    """`detect` keeping only the wide regions: those of a still turned a quarter that can
    replace its tall ones (its tall ones, the still's wide lines, are not read again)."""

    def detect_wide(image: np.ndarray) -> Detections:
        found = detect(image)
        return found.take(np.array([not is_tall(box) for box in found.boxes], bool))

    return detect_wide


def read_still(
    recognizer: TextRecognizer, image: np.ndarray, found: Detections, detect: Detect
) -> Detections:
    """A still's boxes (`found`) read, stacked letters joined (REC_STACKED=auto,
    `join_stacked`), and turned upright when REC_UPRIGHT=auto and `read_upright` finds a
    quarter turn that reads more (`detect`: the still's detector)."""
    turning = recognizer.settings.rec_upright == "auto" and mostly_tall(found.boxes)
    read = read_regions(recognizer, [image], [found], still=True, tall_variants=not turning)[0][0]
    if recognizer.settings.rec_stacked == "auto":
        read = join_stacked(recognizer, image, read)
    if recognizer.settings.rec_upright == "off":
        return read

    def read_boxes(turned: np.ndarray, boxes: Detections) -> Detections:
        return read_regions(recognizer, [turned], [boxes], still=True)[0][0]

    vote, sample = partial(upside_down, recognizer), partial(sample_score, recognizer)
    return read_upright(image, read, detect, read_boxes, vote, sample)
