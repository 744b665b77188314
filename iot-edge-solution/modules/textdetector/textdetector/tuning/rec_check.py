"""A recognition check for the parity gate until the recogniser lands: line accuracy of
the PP-OCRv4 recogniser on the demo video's ground-truth lines.

Crops are the ground-truth ink boxes (padded), resized to height 48 (width <= 320),
normalised (x/255 - 0.5)/0.5 and decoded greedily (CTC). A line counts as read when the
decoded string equals the truth, ignoring case and spaces. The recogniser module's own
check replaces this one through the same `RecognitionCheck` callable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..recognizer.batching import normalised_batch
from ..recognizer.ctc import greedy_decode
from .samples import video_frames

Run = Callable[[np.ndarray], np.ndarray]  # 1x3x48xW float32 -> 1xTxC probabilities
MAX_WIDTH, PAD = 320, 4


@dataclass(frozen=True)
class Line:
    """One ground-truth text line and its model input."""

    text: str
    blob: np.ndarray


def rec_blob(crop: np.ndarray, width: int = MAX_WIDTH) -> np.ndarray:
    """A 1x3x48x`width` float32 blob, as the recogniser makes its batches."""
    return normalised_batch([crop], width)


def ctc_greedy(probs: np.ndarray, characters: Sequence[str]) -> str:
    """Greedy CTC decoding of one TxC map with the recogniser's decoder."""
    charset = ["", *characters, " "]
    return greedy_decode(probs[None], charset)[0][0]


def truth_lines(video: Path, truth: Path, frames: Iterable[int]) -> list[Line]:
    """Ground-truth lines of `frames` (boxes inside the frame only), ready to recognise."""
    wanted = list(frames)
    records = {}
    with truth.open(encoding="utf-8") as handle:
        for row in map(json.loads, handle):
            if row["frame"] in wanted:
                records[row["frame"]] = row["lines"]
    lines = []
    for index, image in zip(wanted, video_frames(video, wanted)):
        height, width = image.shape[:2]
        for line in records.get(index, []):
            x0, y0, x1, y1 = line["box"]
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height or x1 - x0 < 8:
                continue
            crop = image[max(0, y0 - PAD) : y1 + PAD, max(0, x0 - PAD) : x1 + PAD]
            lines.append(Line(line["text"], rec_blob(crop)))
    return lines


def normalised(text: str) -> str:
    return "".join(text.split()).lower()


def line_accuracy(run: Run, lines: Sequence[Line], characters: Sequence[str]) -> float:
    """Percent of `lines` read exactly (case and spaces ignored)."""
    if not lines:
        return 0.0
    hits = sum(
        normalised(ctc_greedy(run(line.blob)[0], characters)) == normalised(line.text)
        for line in lines
    )
    return 100.0 * hits / len(lines)


def recognition_check(
    rec_model: Path, video: Path, truth: Path, int8_cache: Path
) -> Callable[[str], float]:
    """A `RecognitionCheck` for the gate: OpenVINO line accuracy of `rec_model` at a
    precision (INT8 quantized on the calibration lines, cached) on the evaluation lines."""
    from ..engines.openvino_engine import OpenVinoEngine
    from .quantize import quantized_rec_model
    from .samples import EVALUATION_FRAMES

    lines = truth_lines(video, truth, EVALUATION_FRAMES)

    def check(precision: str) -> float:
        path = rec_model
        if precision == "int8":
            path = quantized_rec_model(rec_model, int8_cache, video, truth)
        engine = OpenVinoEngine.open(path, precision)
        try:
            characters = engine.metadata["character"].splitlines()
            output = engine.outputs[0].name
            return line_accuracy(lambda blob: engine.run({"x": blob})[output], lines, characters)
        finally:
            engine.close()

    return check
