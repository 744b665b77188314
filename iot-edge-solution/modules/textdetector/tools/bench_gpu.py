"""GPU benchmark: TensorRT FP16/FP32 and ONNX Runtime CUDA against ONNX Runtime CPU.

Every contender runs the same demo frames, at 720p and resized to 1080p, side by side in
one run; printed: detector fps (pre-process + model + post-process), model-only ms,
the ratio to the CPU baseline, and how well TensorRT FP16 boxes agree with FP32.
Contenders that cannot run here (no GPU, no TensorRT) are listed with the reason; the
script still exits 0.

Usage: python -m tools.bench_gpu [--frames N] [--warmup N]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from textdetector.config import DEFAULT_VIDEO, EngineSettings
from textdetector.detector import TextDetector
from textdetector.detector.fp16_check import check_frames
from textdetector.engines.base import InferenceEngine
from textdetector.errors import KitError
from textdetector.geometry import mean_box_iou
from textdetector.results import Detections

RESOLUTIONS = {"720p": (720, 1280), "1080p": (1080, 1920)}


@dataclass
class Outcome:
    """One contender's results per resolution, or why it was skipped."""

    name: str
    skipped: str = ""
    detail: str = ""
    fps: dict[str, float] = field(default_factory=dict)
    model_ms: dict[str, float] = field(default_factory=dict)
    detections: dict[str, list[Detections]] = field(default_factory=dict)


def contenders(base: EngineSettings) -> dict[str, Callable[[], InferenceEngine]]:
    from textdetector.detector.detector import open_detection_engine
    from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine

    def ort(providers: str) -> Callable[[], InferenceEngine]:
        def open_() -> InferenceEngine:
            engine = OnnxRuntimeEngine.open(base.model_path, replace(base, ort_providers=providers))
            if engine.fell_back:
                engine.close()
                raise KitError(
                    f"{', '.join(engine.fell_back)} not available in this "
                    "ONNX Runtime build (needs onnxruntime-gpu and a GPU)"
                )
            return engine

        return open_

    def trt(precision: str) -> Callable[[], InferenceEngine]:
        return lambda: open_detection_engine(
            replace(base, use_tensor_rt=True, trt_precision=precision)
        )

    return {
        "ORT CPU": ort("cpu"),
        "ORT CUDA": ort("cuda"),
        "TensorRT FP32": trt("fp32"),
        "TensorRT FP16": trt("fp16"),
    }


def measure(
    name: str,
    open_engine: Callable[[], InferenceEngine],
    frames: dict[str, list[np.ndarray]],
    warmup: int,
) -> Outcome:
    try:
        engine = open_engine()
    except KitError as exc:
        return Outcome(name, skipped=str(exc))
    outcome = Outcome(name, detail=getattr(engine, "precision_note", ""))
    with TextDetector(engine) as detector:
        for label, images in frames.items():
            for image in images[:warmup]:
                detector.detect(image)
            found, model_ms = [], []
            start = time.perf_counter()
            for image in images:
                detections, timings = detector.detect(image)
                found.append(detections)
                model_ms.append(timings.inference_ms)
            outcome.fps[label] = len(images) / (time.perf_counter() - start)
            outcome.model_ms[label] = float(np.median(model_ms))
            outcome.detections[label] = found
    return outcome


def xyxy_pairs(a: list[Detections], b: list[Detections]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.xyxy(), y.xyxy()) for x, y in zip(a, b)]


def report(outcomes: list[Outcome]) -> None:
    base = next((o for o in outcomes if o.name == "ORT CPU" and not o.skipped), None)
    print(f"{'contender':<16}{'res':>7}{'fps':>9}{'model ms':>10}{'vs CPU':>9}  boxes vs CPU")
    for o in outcomes:
        if o.skipped:
            continue
        for label in o.fps:
            ratio = agree = float("nan")  # no CPU baseline to compare with
            if base is not None:
                ratio = o.fps[label] / base.fps[label]
                agree = mean_box_iou(xyxy_pairs(base.detections[label], o.detections[label]))
            print(
                f"{o.name:<16}{label:>7}{o.fps[label]:>9.1f}{o.model_ms[label]:>10.1f}"
                f"{ratio:>8.1f}x  mean IoU {agree:.3f}"
            )
        if o.detail:
            print(f"{'':<16}({o.detail})")
    done = {o.name: o for o in outcomes if not o.skipped}
    if "TensorRT FP16" in done and "TensorRT FP32" in done:
        for label in done["TensorRT FP32"].detections:
            pairs = xyxy_pairs(
                done["TensorRT FP32"].detections[label], done["TensorRT FP16"].detections[label]
            )
            print(
                f"TensorRT FP16 vs FP32 box agreement at {label}: mean IoU "
                f"{mean_box_iou(pairs):.3f}"
            )
    else:
        print("TensorRT FP16 vs FP32 box agreement: not measured (TensorRT did not run)")
    skipped = [o for o in outcomes if o.skipped]
    if skipped:
        print("\nSKIPPED (not measured on this machine):")
        for o in skipped:
            print(f"  {o.name}: {o.skipped}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=20, help="frames per resolution")
    parser.add_argument("--warmup", type=int, default=3, help="untimed frames first")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.warmup < 0:
        parser.error("--frames must be ≥ 1 and --warmup ≥ 0")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    source = check_frames(DEFAULT_VIDEO, args.frames)
    if not source:
        print(f"error: cannot read {DEFAULT_VIDEO}; run `make setup` first", file=sys.stderr)
        return 1
    frames = {
        label: [cv2.resize(f, (w, h)) if f.shape[:2] != (h, w) else f for f in source]
        for label, (h, w) in RESOLUTIONS.items()
    }
    outcomes = [
        measure(name, open_engine, frames, args.warmup)
        for name, open_engine in contenders(EngineSettings()).items()
    ]
    report(outcomes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
