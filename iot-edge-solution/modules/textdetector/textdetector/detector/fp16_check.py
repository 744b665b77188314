"""The detector's FP16 check: do FP16 and FP32 runs give the same boxes on real frames?"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..engines.base import RunFn
from ..engines.precision import Agreement, PrecisionCheck
from ..geometry import mean_box_iou
from ..sources.capture import read_frames
from .policy import DetPolicy, blob_for
from .postprocess import DBParams, DBPostProcess


def check_frames(video: Path, count: int = 4) -> list[np.ndarray]:
    """`count` frames spread evenly over a video (the demo video); [] if it cannot be read."""
    capture = cv2.VideoCapture(str(video))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    if not total:
        return []
    return read_frames(video, np.linspace(0, total - 1, count).astype(int))


def compare(
    run_fp32: RunFn,
    run_fp16: RunFn,
    frames: Sequence[np.ndarray],
    limit_side_len: int | DetPolicy,
    params: DBParams = DBParams(),
) -> Agreement:
    """Run both on the same frames; the score is the mean matched box IoU."""
    post = DBPostProcess(params)
    pairs, boxes32, boxes16 = [], 0, 0
    for frame in frames:
        blob = blob_for(frame, limit_side_len)
        size = frame.shape[:2]
        a, b = post(run_fp32(blob)[0, 0], size), post(run_fp16(blob)[0, 0], size)
        pairs.append((a.xyxy(), b.xyxy()))
        boxes32, boxes16 = boxes32 + len(a), boxes16 + len(b)
    score = mean_box_iou(pairs)
    return Agreement(
        score,
        f"mean box IoU FP16 vs FP32 {score:.3f} on {len(frames)} frames "
        f"({boxes16} vs {boxes32} boxes)",
    )


def fp16_check(
    video: Path, limit_side_len: int | DetPolicy, params: DBParams = DBParams()
) -> PrecisionCheck:
    """A check for `open_engine`: compare on frames of `video`; None if it has none."""

    def check(run_fp32: RunFn, run_fp16: RunFn) -> Agreement | None:
        frames = check_frames(video)
        if not frames:
            return None
        return compare(run_fp32, run_fp16, frames, limit_side_len, params)

    return check
