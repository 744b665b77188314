"""Precision policy: FP16 only where the GPU is fast at it and its boxes agree with FP32."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ..postprocess import DBParams, DBPostProcess
from ..preprocess import input_size, to_blob
from ..results import Detections

log = logging.getLogger(__name__)

RunFn = Callable[[np.ndarray], np.ndarray]

# Compute capabilities with slow FP16 arithmetic (Maxwell desktop, Pascal consumer GPUs).
SLOW_FP16 = {(5, 0), (5, 2), (6, 1)}


def fast_fp16_by_capability(major: int, minor: int) -> bool:
    """NVIDIA's table: native fast FP16 from 5.3 (Jetson TX1) on, except 6.1."""
    return (major, minor) >= (5, 3) and (major, minor) not in SLOW_FP16


def has_fast_fp16(builder: object, capability: tuple[int, int]) -> bool:
    """`builder.platform_has_fast_fp16` where TensorRT still offers it, else the table."""
    flag = getattr(builder, "platform_has_fast_fp16", None)
    if isinstance(flag, bool):
        return flag
    return fast_fp16_by_capability(*capability)


def choose_precision(requested: str, fast_fp16: bool) -> tuple[str, str]:
    """(precision to build first, why). FP16 is never chosen on a GPU without fast FP16."""
    if requested == "fp32":
        return "fp32", "TRT_PRECISION=fp32"
    if not fast_fp16:
        if requested == "fp16":
            log.warning("TRT_PRECISION=fp16 but this GPU has no fast FP16: using FP32")
        return "fp32", "this GPU has no fast FP16"
    return "fp16", f"TRT_PRECISION={requested} and the GPU has fast FP16"


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every pair of axis-aligned boxes (x0, y0, x1, y1): shape (len(a), len(b))."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    a = a.astype(np.float64)[:, None, :]
    b = b.astype(np.float64)[None, :, :]
    inter_w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    inter_h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = inter_w * inter_h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def matched_iou(reference: Detections, other: Detections) -> tuple[float, int]:
    """(sum of IoUs of greedily matched pairs, number of boxes counted).

    Each box pairs with at most one box of the other set, best IoU first; a box left
    unmatched on either side counts as IoU 0, so missing and extra boxes both lower it.
    """
    matrix = iou_matrix(reference.xyxy(), other.xyxy())
    count = max(matrix.shape)
    total = 0.0
    while matrix.size and matrix.max() > 0:
        i, j = np.unravel_index(int(matrix.argmax()), matrix.shape)
        total += float(matrix[i, j])
        matrix[i, :] = 0
        matrix[:, j] = 0
    return total, count


def mean_box_iou(pairs: Sequence[tuple[Detections, Detections]]) -> float:
    """Mean matched box IoU over all frames; 1.0 when neither side found any box."""
    total, count = 0.0, 0
    for reference, other in pairs:
        part, n = matched_iou(reference, other)
        total, count = total + part, count + n
    return total / count if count else 1.0


def check_frames(video: Path, count: int = 4) -> list[np.ndarray]:
    """`count` frames spread evenly over a video (the demo video); [] if it cannot be read."""
    capture = cv2.VideoCapture(str(video))
    frames: list[np.ndarray] = []
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        for index in np.linspace(0, max(total - 1, 0), count).astype(int) if total else []:
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = capture.read()
            if ok:
                frames.append(frame)
    finally:
        capture.release()
    return frames


@dataclass(frozen=True)
class Agreement:
    """How FP16 boxes compare with FP32 boxes on the check frames."""

    mean_iou: float
    frames: int
    boxes_fp32: int
    boxes_fp16: int

    def accepted(self, min_iou: float) -> bool:
        return self.mean_iou >= min_iou


def compare(run_fp32: RunFn, run_fp16: RunFn, frames: Sequence[np.ndarray],
            limit_side_len: int, params: DBParams = DBParams()) -> Agreement:
    """Run both engines on the same frames and compare their post-processed boxes."""
    post = DBPostProcess(params)
    pairs = []
    for frame in frames:
        blob = to_blob(frame, input_size(frame.shape[0], frame.shape[1], limit_side_len))
        size = frame.shape[:2]
        pairs.append((post(run_fp32(blob)[0, 0], size), post(run_fp16(blob)[0, 0], size)))
    return Agreement(mean_box_iou(pairs), len(pairs),
                     sum(len(a.boxes) for a, _ in pairs), sum(len(b.boxes) for _, b in pairs))
