"""Region mode: detect only in the part of a frame that changed.

The change test's changed blocks, mapped back to frame pixels and padded, give a
rectangle; every line of the last inferred frame that touches it is taken in whole. The
frame is detected in that crop only (a smaller model input), and the lines of the last
inferred frame outside it are kept as they were (their readings are then reused by the
line memory, `regions.py`). The crop always has half the frame's width and height (a
changed part that does not fit is detected in the whole frame): engines that compile
per input shape (OpenVINO static shapes) compile one more shape, not one per crop. The
run loop detects the crop at the whole frame's scale (`TextDetector.part_input_size`),
so its text is seen at the size the whole-frame pass sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry
from ..results import Detections

PAD = 32  # pixels around the changed blocks


@dataclass(frozen=True)
class Area:
    """A crop rectangle in frame pixels: x0, y0 inclusive, x1, y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.y0 : self.y1, self.x0 : self.x1]

    def inside(self, xyxy: np.ndarray) -> np.ndarray:
        """Which boxes (xyxy rows) touch this rectangle."""
        return (
            (xyxy[:, 0] < self.x1)
            & (xyxy[:, 2] > self.x0)
            & (xyxy[:, 1] < self.y1)
            & (xyxy[:, 3] > self.y0)
        )

    def holds(self, xyxy: np.ndarray) -> np.ndarray:
        """Which boxes lie wholly inside this rectangle."""
        return (
            (xyxy[:, 0] >= self.x0)
            & (xyxy[:, 2] <= self.x1)
            & (xyxy[:, 1] >= self.y0)
            & (xyxy[:, 3] <= self.y1)
        )


def changed_area(
    blocks: np.ndarray, frame_size: tuple[int, int], previous: Detections | None
) -> Area | None:
    """The rectangle to detect in, or None for the whole frame."""
    height, width = frame_size
    rows, cols = np.nonzero(blocks)
    if previous is None or not len(rows) or blocks.shape == (1, 1):
        return None
    sy, sx = height / blocks.shape[0], width / blocks.shape[1]
    x0, x1 = cols.min() * sx - PAD, (cols.max() + 1) * sx + PAD
    y0, y1 = rows.min() * sy - PAD, (rows.max() + 1) * sy + PAD
    boxes = previous.xyxy()
    for _ in range(3):  # take in the lines the rectangle touches (they may grow it)
        area = Area(*_clip(x0, y0, x1, y1, width, height))
        touching = boxes[area.inside(boxes)] if len(boxes) else boxes
        if not len(touching):
            break
        x0, y0 = min(x0, touching[:, 0].min() - 4), min(y0, touching[:, 1].min() - 4)
        x1, y1 = max(x1, touching[:, 2].max() + 4), max(y1, touching[:, 3].max() + 4)
    area = Area(*_clip(x0, y0, x1, y1, width, height))
    crop_w, crop_h = width // 2, height // 2  # one crop shape: one more compiled model
    if area.x1 - area.x0 > crop_w or area.y1 - area.y0 > crop_h:
        return None
    left = min(max(0, (area.x0 + area.x1 - crop_w) // 2), width - crop_w)
    top = min(max(0, (area.y0 + area.y1 - crop_h) // 2), height - crop_h)
    return Area(left, top, left + crop_w, top + crop_h)


def merge(area: Area, found: Detections, previous: Detections) -> Detections:
    """The crop's detections in frame pixels plus the previous lines not wholly inside the
    crop; a crop detection mostly covered by such a line (cut at the crop's edge) goes."""
    offset = np.array([area.x0, area.y0], np.float32)
    old = previous.xyxy()
    keep = ~area.holds(old) if len(previous) else np.zeros(0, bool)
    new_boxes = found.boxes + offset
    new = geometry.xyxy(new_boxes)
    cut = np.zeros(len(new), bool)
    for box in old[keep]:
        w = np.clip(np.minimum(new[:, 2], box[2]) - np.maximum(new[:, 0], box[0]), 0, None)
        h = np.clip(np.minimum(new[:, 3], box[3]) - np.maximum(new[:, 1], box[1]), 0, None)
        area_new = np.maximum((new[:, 2] - new[:, 0]) * (new[:, 3] - new[:, 1]), 1e-6)
        cut |= w * h / area_new > 0.5
    boxes = np.concatenate([previous.boxes[keep], new_boxes[~cut]]).astype(np.float32)
    scores = np.concatenate([previous.scores[keep], found.scores[~cut]]).astype(np.float32)
    return Detections(boxes, scores, previous.image_size)


def _clip(x0: float, y0: float, x1: float, y1: float, width: int, height: int):
    return (
        max(0, int(x0)),
        max(0, int(y0)),
        min(width, int(np.ceil(x1))),
        min(height, int(np.ceil(y1))),
    )
