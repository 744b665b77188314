"""Parity gate: a reduced precision is used only if its results match FP32's.

Detection: the full detector (pre-process, model, DB post-process) runs on a fixed
evaluation set with the FP32 model and with the candidate; boxes are matched greedily
by IoU (>= 0.5 counts as found). The candidate passes with recall and precision
>= 0.97 against FP32 and mean IoU of the matched boxes >= 0.9.
Recognition: a pluggable `RecognitionCheck(precision) -> line accuracy in %`; the
candidate passes within 1 point of FP32.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..detector.policy import DetPolicy, blob_for
from ..detector.postprocess import DBParams, DBPostProcess
from ..geometry import greedy_matches, iou_matrix
from ..results import Detections

log = logging.getLogger(__name__)

Runner = Callable[[np.ndarray], np.ndarray]  # float32 1x3xHxW blob -> 1x1xHxW prob map
RecognitionCheck = Callable[[str], float]  # precision name -> line accuracy in percent
MATCH_IOU = 0.5


@dataclass(frozen=True)
class Thresholds:
    """What a candidate precision must reach against FP32."""

    min_recall: float = 0.97
    min_precision: float = 0.97
    min_mean_iou: float = 0.9
    max_accuracy_drop: float = 1.0  # recognition line accuracy, percentage points


@dataclass(frozen=True)
class DetectionParity:
    """Candidate boxes against FP32 boxes over the evaluation set."""

    recall: float
    precision: float
    mean_iou: float
    reference_boxes: int
    candidate_boxes: int
    frames: int


@dataclass(frozen=True)
class GateResult:
    """One precision's gate figures and verdict; `failures` says why it failed."""

    precision: str
    detection: DetectionParity | None
    accuracy: tuple[float, float] | None = None  # (FP32, candidate) line accuracy in %
    failures: tuple[str, ...] = field(default=())
    median_ms: float | None = None  # model time per frame on the evaluation set

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        parts = [f"{self.precision}: {'PASS' if self.passed else 'FAIL'}"]
        if self.detection is not None:
            d = self.detection
            parts.append(
                f"recall {d.recall:.3f} precision {d.precision:.3f} "
                f"mean IoU {d.mean_iou:.3f} ({d.candidate_boxes}/{d.reference_boxes} "
                f"boxes, {d.frames} frames)"
            )
        if self.accuracy is not None:
            parts.append(f"line accuracy {self.accuracy[1]:.1f}% vs {self.accuracy[0]:.1f}%")
        if self.median_ms is not None:
            parts.append(f"{self.median_ms:.1f} ms/frame")
        if self.failures:
            parts.append("; ".join(self.failures))
        return ", ".join(parts)


def detect_frames(
    run: Runner,
    frames: Sequence[np.ndarray],
    params: DBParams = DBParams(),
    limit_side_len: int | DetPolicy = 960,
) -> tuple[list[Detections], float]:
    """(detections per frame, median model ms per frame) with `run` as the model."""
    post = DBPostProcess(params)
    detections, times = [], []
    for frame in frames:
        blob = blob_for(frame, limit_side_len)
        start = time.perf_counter()
        prob = run(blob)
        times.append((time.perf_counter() - start) * 1000.0)
        detections.append(post(prob[0, 0], frame.shape[:2]))
    return detections, float(np.median(times)) if times else 0.0


def matched_ious(
    reference: Detections, candidate: Detections, min_iou: float = MATCH_IOU
) -> list[float]:
    """IoUs of greedily matched box pairs (best first, one partner each, IoU >= min_iou)."""
    matrix = iou_matrix(reference.xyxy(), candidate.xyxy())
    return [iou for _, _, iou in greedy_matches(matrix) if iou >= min_iou]


def detection_parity(
    reference: Sequence[Detections], candidate: Sequence[Detections]
) -> DetectionParity:
    """Recall, precision and mean matched IoU of `candidate` boxes against `reference`."""
    if len(reference) != len(candidate):
        raise ValueError("reference and candidate must cover the same frames")
    ious: list[float] = []
    for ref, cand in zip(reference, candidate):
        ious += matched_ious(ref, cand)
    n_ref = sum(len(d) for d in reference)
    n_cand = sum(len(d) for d in candidate)
    return DetectionParity(
        recall=len(ious) / n_ref if n_ref else 1.0,
        precision=len(ious) / n_cand if n_cand else 1.0,
        mean_iou=float(np.mean(ious)) if ious else float(n_ref == n_cand),
        reference_boxes=n_ref,
        candidate_boxes=n_cand,
        frames=len(reference),
    )


def judge(
    precision: str,
    detection: DetectionParity | None,
    accuracy: tuple[float, float] | None = None,
    thresholds: Thresholds = Thresholds(),
    median_ms: float | None = None,
) -> GateResult:
    """Apply `thresholds` to the measured figures."""
    failures = []
    if detection is not None:
        if detection.recall < thresholds.min_recall:
            failures.append(f"recall {detection.recall:.3f} < {thresholds.min_recall}")
        if detection.precision < thresholds.min_precision:
            failures.append(f"precision {detection.precision:.3f} < {thresholds.min_precision}")
        if detection.mean_iou < thresholds.min_mean_iou:
            failures.append(f"mean IoU {detection.mean_iou:.3f} < {thresholds.min_mean_iou}")
    if accuracy is not None and accuracy[0] - accuracy[1] > thresholds.max_accuracy_drop:
        failures.append(
            f"line accuracy {accuracy[1]:.1f}% is more than "
            f"{thresholds.max_accuracy_drop} point below FP32's {accuracy[0]:.1f}%"
        )
    return GateResult(precision, detection, accuracy, tuple(failures), median_ms)


def run_gate(
    reference: Runner,
    candidates: Mapping[str, Runner],
    frames: Sequence[np.ndarray],
    recognition: RecognitionCheck | None = None,
    thresholds: Thresholds = Thresholds(),
    params: DBParams = DBParams(),
    limit_side_len: int | DetPolicy = 960,
) -> dict[str, GateResult]:
    """Gate every candidate against the FP32 `reference`; 'fp32' itself is included."""
    ref_dets, ref_ms = detect_frames(reference, frames, params, limit_side_len)
    ref_acc = recognition("fp32") if recognition else None
    results = {
        "fp32": judge(
            "fp32",
            detection_parity(ref_dets, ref_dets),
            (ref_acc, ref_acc) if ref_acc is not None else None,
            thresholds,
            ref_ms,
        )
    }
    for name, run in candidates.items():
        dets, ms = detect_frames(run, frames, params, limit_side_len)
        accuracy = (ref_acc, recognition(name)) if recognition and ref_acc is not None else None
        results[name] = judge(name, detection_parity(ref_dets, dets), accuracy, thresholds, ms)
    return results


def fastest_passing(results: Mapping[str, GateResult]) -> str:
    """The passing precision with the lowest median time (fp32 when nothing else passes)."""
    passing = [r for r in results.values() if r.passed and r.median_ms is not None]
    if not passing:
        return "fp32"
    return min(passing, key=lambda r: r.median_ms or 0.0).precision
