"""Dense-text post-process benchmark: fast vs reference DB post-process, side by side.

Renders the deterministic dense frame (tools/dense_frame.py), runs the real model once,
then times both post-process modes on that probability map, interleaved, and checks
that they agree (same count, every box IoU). The fast mode's median is compared with the
target for dense frames (>= 400 regions in <= TARGET_MS); the thread's CPU time is shown
beside it, as wall time on a shared machine also counts other processes' turns.
Writes bench-results/postprocess.json.

Usage: python -m tools.bench_postprocess [--runs 9] [--seed 0] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from textdetector.config import EngineSettings
from textdetector.detector import TextDetector
from textdetector.detector.postprocess import DBPostProcess
from textdetector.detector.preprocess import to_blob
from textdetector.engines import run_single
from textdetector.geometry import polygon_iou

from . import harness
from .dense_frame import render_dense_frame

TARGET_MS = 10.0  # fast mode, dense frame (>= 400 regions), median wall time
DENSE_REGIONS = 400


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per mode")
    parser.add_argument("--seed", type=int, default=0, help="dense frame seed")
    parser.add_argument("--out", default=str(harness.RESULTS / "postprocess.json"))
    args = parser.parse_args(argv)
    image, words = render_dense_frame(seed=args.seed)
    with TextDetector.open(EngineSettings()) as detector:
        size = detector.input_size(image.shape[:2])
        prob = run_single(detector.engine, to_blob(image, size, norm=detector.policy.norm))[0, 0]
    modes = {name: DBPostProcess(mode=name) for name in DBPostProcess.MODES}
    times: dict[str, list[float]] = {name: [] for name in modes}
    cpu: dict[str, list[float]] = {name: [] for name in modes}
    results = {name: post(prob, image.shape[:2]) for name, post in modes.items()}  # warm-up
    for _ in range(args.runs):
        for name, post in modes.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            post(prob, image.shape[:2])
            times[name].append((time.perf_counter() - start) * 1000.0)
            cpu[name].append((time.thread_time() - start_cpu) * 1000.0)
    fast, ref = results["fast"], results["reference"]
    same_count = len(fast) == len(ref)
    ious = [polygon_iou(a, b) for a, b in zip(fast.boxes, ref.boxes)] if same_count else []
    report = {
        "frame": {"size": list(image.shape[:2]), "words": len(words), "map": list(size)},
        "boxes": {name: len(det) for name, det in results.items()},
        "median_ms": {name: round(statistics.median(t), 2) for name, t in times.items()},
        "median_cpu_ms": {name: round(statistics.median(t), 2) for name, t in cpu.items()},
        "runs": args.runs,
        "min_iou": round(min(ious), 4) if ious else None,
        "identical": bool(len(fast) == len(ref) and np.array_equal(fast.boxes, ref.boxes)),
    }
    report["speedup"] = round(report["median_ms"]["reference"] / report["median_ms"]["fast"], 1)
    report["target"] = target_verdict(report["median_ms"]["fast"], report["boxes"]["fast"])
    print(
        f"dense frame {image.shape[1]}x{image.shape[0]}, {len(words)} words, "
        f"model input {size[1]}x{size[0]}"
    )
    for name in modes:
        print(
            f"  {name:<10} {report['median_ms'][name]:8.2f} ms median of {args.runs} "
            f"(CPU {report['median_cpu_ms'][name]:.2f} ms), {report['boxes'][name]} boxes"
        )
    target = report["target"]
    print(
        f"  target: fast <= {target['ms']:.0f} ms on >= {target['min_regions']} regions; "
        f"measured {report['median_ms']['fast']:.2f} ms -> {target['verdict']}"
    )
    print(
        f"  speed-up {report['speedup']}x; identical boxes: {report['identical']}; "
        f"min IoU {report['min_iou']}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if report["identical"] else 1


def target_verdict(fast_ms: float, regions: int) -> dict:
    """The dense-frame target: MET, MISSED, or NOT DENSE when the frame has too few regions."""
    verdict = harness.verdict(fast_ms, TARGET_MS, at_most=True)
    if regions < DENSE_REGIONS:
        verdict = "NOT DENSE"
    return {"ms": TARGET_MS, "min_regions": DENSE_REGIONS, "verdict": verdict}


if __name__ == "__main__":
    sys.exit(main())
