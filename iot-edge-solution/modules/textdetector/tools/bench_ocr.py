"""The OCR section of tools/bench.py: detection + recognition, end to end.

Contenders, each over the same demo frames with text, interleaved by harness.measure:
**ocr-model-only** (the detection model on pre-made blobs, then the recognition model on
pre-made batches of the same crops our recogniser reads: the models' own limit),
**ocr-pipeline** (the real `pipeline.process` from the video file with a recogniser:
decode thread, detect, crop, read, console sink), **rapidocr-ocr-defaults** (RapidOCR
1.4.4's `RapidOCR()` full pipeline as shipped: short side raised to 736, dilation, angle
classifier on), **rapidocr3-ocr-defaults** (RapidOCR 3.10's `RapidOCR()` as shipped:
PP-OCRv6 det and rec, angle classifier on) and **rapidocr-ocr-matched** (RapidOCR 1.4.4 at
our detection policy and model, thresholds, batch, classifier and recognition model).

Run alone, it measures one or several model sets (MODEL_SET) in the same interleaved run:
python -m tools.bench_ocr [--model-set ppocrv4,ppocrv6] [--frames N] [--rounds R] [--json F]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from textdetector.config import DetectorSettings, EngineSettings, RecognizerSettings
from textdetector.detector import TextDetector
from textdetector.errors import KitError
from textdetector.pipeline import LoopOptions
from textdetector.recognizer import TextRecognizer, crop_all
from textdetector.recognizer.batching import model_inputs

from . import harness
from .eval import chosen_sets

RATIOS = [
    ("ocr-pipeline", "ocr-model-only", 0.90),
    ("ocr-pipeline", "rapidocr-ocr-defaults", 2.5),
    ("ocr-pipeline", "rapidocr-ocr-matched", 1.3),
    ("ocr-pipeline", "rapidocr3-ocr-defaults", 2.0),
]


@dataclass
class Counts:
    """What the recognition side did over the pipeline runs (and its model-only twin)."""

    crops: int = 0
    calls: int = 0
    recognition_ms: float = 0.0
    model_crops: int = 0
    model_rec_s: list[float] = field(default_factory=list)

    def summary(self, frames: int) -> dict[str, float]:
        model_ms = 1000 * float(np.median(self.model_rec_s)) if self.model_rec_s else 0.0
        return {
            "crops_per_frame": round(self.model_crops / max(frames, 1), 2),
            "crops_per_call": round(self.crops / max(self.calls, 1), 2),
            "pipeline_rec_ms_per_crop": round(self.recognition_ms / max(self.crops, 1), 2),
            "model_rec_ms_per_crop": round(model_ms / max(self.model_crops, 1), 2),
        }


class _Timings:
    """A sink adding up the recognition time the loop reports per frame."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts

    def __enter__(self) -> _Timings:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, result) -> None:
        self.counts.recognition_ms += result.timings.recognition_ms


def rec_batches(
    recognizer: TextRecognizer, detector: TextDetector, frames: list[np.ndarray], per_read: int
) -> tuple[list[np.ndarray], int]:
    """The normalised batches our recogniser feeds its model for `frames`, the crops of
    `per_read` frames read together as the loop does for a file (REC_FRAMES), and the
    crop count."""
    batches: list[np.ndarray] = []
    count = 0
    for first in range(0, len(frames), per_read):
        crops = [
            c
            for frame in frames[first : first + per_read]
            for c in crop_all(frame, detector.detect(frame)[0].boxes)
            if c is not None
        ]
        count += len(crops)
        batches += model_inputs(crops, recognizer.plan(crops))
    return batches, count


def contenders(
    detector: TextDetector,
    recognizer: TextRecognizer,
    frames: list[np.ndarray],
    video: Path,
    counts: Counts,
) -> dict[str, Callable[[], float]]:
    """Name -> a callable that reads every frame once and returns the seconds taken."""
    blobs = harness.detection_blobs(detector, frames)
    per_read = RecognizerSettings().rec_frames
    batches, counts.model_crops = rec_batches(recognizer, detector, frames, per_read)

    def model_only() -> float:
        start = time.perf_counter()
        harness.model_pass(detector.engine, blobs)
        middle = time.perf_counter()
        harness.model_pass(recognizer.engine, batches)
        end = time.perf_counter()
        counts.model_rec_s.append(end - middle)
        return end - start

    whole_loop = harness.pipeline(
        detector,
        video,
        len(frames),
        sinks=[_Timings(counts)],
        recognizer=recognizer,
        options=LoopOptions(read_ahead=per_read),
    )

    def pipeline() -> float:
        calls, crops = recognizer.calls, recognizer.crops_read
        seconds = whole_loop()
        counts.calls += recognizer.calls - calls
        counts.crops += recognizer.crops_read - crops
        return seconds

    runs = {"ocr-model-only": model_only, "ocr-pipeline": pipeline}
    for name, matched in (("rapidocr-ocr-defaults", False), ("rapidocr-ocr-matched", True)):
        rapid = rapidocr_ocr(matched, recognizer.settings)
        if rapid is not None:
            runs[name] = harness.each_frame(rapid, frames)
    rapid3 = rapidocr3_ocr()
    if rapid3 is not None:
        runs["rapidocr3-ocr-defaults"] = harness.each_frame(rapid3, frames)
    return runs


def rapidocr3_ocr():
    """RapidOCR 3.10's `RapidOCR()` at its defaults (PP-OCRv6 det and rec from its own
    wheel, angle classifier on); None if it is not installed."""
    try:
        from rapidocr import RapidOCR
    except ImportError:
        return None
    import logging

    engine = RapidOCR(params={"Global.log_level": "error"})
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return engine


def matched_det(frame_size: tuple[int, int] = (720, 1280)) -> dict:
    """RapidOCR's detector options at our default detection policy for video frames and
    model. Where the frame cap (DET_FRAME_MAX_SIDE_LEN) sizes frames of `frame_size` (the
    demo's 720p), RapidOCR gets it as a long-side limit: the same input."""
    from textdetector.detector.preprocess import input_size

    model = EngineSettings().model_path
    policy = DetectorSettings().policy(model, frames=True)
    limit, rule = policy.side, policy.resize
    raised = input_size(*frame_size, policy.side, policy.resize, 0)
    if rule == "min" and policy.max_side and max(raised) > policy.max_side:
        limit, rule = policy.max_side, "max"
    return {
        "model_path": str(model),
        "limit_side_len": limit,
        "limit_type": rule,
        "mean": list(policy.norm[0]),
        "std": list(policy.norm[1]),
        "box_thresh": policy.box_thresh,
        "unclip_ratio": policy.unclip_ratio,
        "use_dilation": policy.dilation,
    }


def rapidocr_ocr(matched: bool, rec: RecognizerSettings = RecognizerSettings()):
    """RapidOCR's full pipeline at its defaults, or at our settings; None if absent."""
    try:
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
    except ImportError:
        return None
    if not matched:
        return RapidOCR()
    det = matched_det()
    rapid = RapidOCR(
        use_cls=rec.use_angle_cls,
        text_score=rec.rec_min_score,
        det_limit_side_len=det["limit_side_len"],
        det_limit_type=det["limit_type"],
        det_box_thresh=det["box_thresh"],
        det_unclip_ratio=det["unclip_ratio"],
        det_use_dilation=det["use_dilation"],
        rec_batch_num=rec.rec_batch,
        cls_batch_num=rec.rec_batch,
        det_model_path=det["model_path"],
        rec_model_path=str(rec.rec_model),
        cls_model_path=str(rec.cls_model_path),
    )
    text_det = rapid.text_det  # RapidOCR raises the cap with the image size; pin it to ours
    text_det.mean, text_det.std = det["mean"], det["std"]
    text_det.get_preprocess = lambda _max_wh: DetPreProcess(
        det["limit_side_len"], det["limit_type"], det["mean"], det["std"]
    )
    return rapid


def report(table: dict[str, dict], counts: Counts, frames: int) -> dict:
    """Print the OCR table, ratios with their targets (MET/MISSED) and the crop figures."""
    harness.fps_table("\nOCR (detection + recognition)", table, width=24)
    ratios = harness.ratios(table, RATIOS)
    crops = counts.summary(frames)
    print(
        f"  regions read: {crops['crops_per_frame']} per frame, "
        f"{crops['crops_per_call']} per recognition call; recognition "
        f"{crops['pipeline_rec_ms_per_crop']} ms per crop in the pipeline, "
        f"{crops['model_rec_ms_per_crop']} ms model-only"
    )
    return {"ratios": ratios, "crops": crops}


def markdown(sets: dict[str, dict]) -> str:
    """The OCR table, one column per model set: fps, ratios with targets, crop figures."""
    columns = list(sets.values())
    rows = []
    for contender in CONTENDERS:
        cells = [s["results"].get(contender) for s in columns]
        rows.append([f"{contender} fps", *(f"{c['fps']:.2f}" if c else "n/a" for c in cells), ""])
    for a, b, target in RATIOS:
        cells = [s["ratios"].get(f"{a}/{b}") for s in columns]
        cells = [harness.cell(c, target) if c is not None else "n/a" for c in cells]
        rows.append([f"{a} / {b}", *cells, f">= {target}"])
    crops = [s["crops"] for s in columns]
    rows.append(["regions per frame", *(c["crops_per_frame"] for c in crops), ""])
    rows.append(["regions per recognition call", *(c["crops_per_call"] for c in crops), ""])
    rows.append(
        [
            "recognition ms per region, pipeline / model-only",
            *(f"{c['pipeline_rec_ms_per_crop']} / {c['model_rec_ms_per_crop']}" for c in crops),
            "",
        ]
    )
    return harness.markdown(["", *(f"MODEL_SET={name}" for name in sets), "target"], rows)


CONTENDERS = (
    "ocr-model-only",
    "ocr-pipeline",
    "rapidocr-ocr-defaults",
    "rapidocr-ocr-matched",
    "rapidocr3-ocr-defaults",
)
SHARED = ("rapidocr-ocr-defaults", "rapidocr3-ocr-defaults")  # every set's: measured once


def interleaved(
    model_sets: list[str], frames: list[np.ndarray], video: Path, rounds: int
) -> dict[str, dict]:
    """Every set's contenders in one interleaved measurement: {set: {"results", ...}}."""
    counts = {name: Counts() for name in model_sets}
    runs: dict[str, Callable[[], float]] = {}
    with contextlib.ExitStack() as stack:
        engine = EngineSettings().for_run(True)  # as `run` opens them for a file
        detector = stack.enter_context(TextDetector.open(engine, frames=True))
        for name in model_sets:
            recognizer = stack.enter_context(
                TextRecognizer.open(RecognizerSettings(model_set=name), engine)
            )
            for contender, run in contenders(
                detector, recognizer, frames, video, counts[name]
            ).items():
                if contender not in SHARED or contender not in runs:
                    runs[contender if contender in SHARED else f"{name}/{contender}"] = run
        table = harness.measure(runs, len(frames), rounds)
    output = {}
    for name in model_sets:
        own = {
            key.split("/", 1)[-1]: row
            for key, row in table.items()
            if key.startswith(f"{name}/") or key in SHARED
        }
        print(f"\nMODEL_SET={name}", end="")
        output[name] = {"results": own, **report(own, counts[name], len(frames))}
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-set",
        default=None,
        help="comma list of model sets, measured side by side (default: MODEL_SET's)",
    )
    parser.add_argument("--frames", type=int, default=20, help="frames per contender run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per contender")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--table",
        type=Path,
        default=harness.RESULTS / "ocr.md",
        help="the markdown table (default: bench-results/ocr.md)",
    )
    args = parser.parse_args(argv)
    if args.frames < 1 or args.rounds < 1:
        parser.error("--frames and --rounds must be >= 1")
    try:
        model_sets = chosen_sets(args.model_set)
    except KitError as exc:
        parser.error(str(exc))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            frames, video = harness.clip(args.frames, args.rounds, "720p", Path(tmp))
            output = interleaved(model_sets, frames, video, args.rounds)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    heading = (
        f"Measured by `python -m tools.bench_ocr` on {harness.machine()} ({args.frames} demo "
        f"frames with text at 720p, {args.rounds} interleaved rounds, medians).\n\n"
    )
    print(f"table: {harness.write_text(args.table, heading + markdown(output))}")
    if args.json:
        args.json.write_text(json.dumps(output, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
