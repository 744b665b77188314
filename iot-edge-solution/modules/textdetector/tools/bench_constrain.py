"""Cost of REC_PATTERN's constrained decoding per line, on top of the model.

The recognition model reads the lines of the rendered container-code and display sets
once (their detected boxes, in the module's batches); then each line's output is decoded
plainly (greedy, what every reading costs) and searched under the pattern (what
REC_PATTERN adds), timed per line. Prints the median and the 95th percentile beside the
target (median <= 1 ms per line); the figures also go to bench-results/constrain.json.

Usage: python -m tools.bench_constrain [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial

import numpy as np

from textdetector.config import DetectorSettings, EngineSettings, RecognizerSettings
from textdetector.engines.base import pipelined
from textdetector.recognizer.batching import model_inputs
from textdetector.recognizer.crop import crop_all
from textdetector.recognizer.ctc import greedy_decode
from textdetector.recognizer.recognizer import _steps
from tools import eval_expected, harness

TARGET_MS = 1.0
PATTERNS = {"containers": "iso6346", "display": "[A-Z]{3}-[0-9]{3}"}


def lines(name: str, det, rec) -> list[tuple[np.ndarray, int]]:
    """(per-step class probabilities, steps covering the crop) of each detected line."""
    crops = []
    for record in eval_expected.samples(name):
        detections, _ = det.detect(record["pixels"])
        crops += [c for c in crop_all(record["pixels"], detections.boxes) if c is not None]
    out = []
    parts = rec.plan(crops)
    for (part, width), probs in zip(parts, pipelined(rec.engine, model_inputs(crops, parts))):
        out += [(row, _steps(crops[i], width, row)) for i, row in zip(part, probs)]
    return out


def timed(function, repeat: int) -> float:
    """Milliseconds per call, the best of `repeat` calls (the least disturbed)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def measure(lines_read: list, rec, pattern: str, repeat: int) -> dict:
    """Per-line milliseconds of greedy decoding and of the pattern's search, summarised."""
    plain, extra = [], []
    for row, steps in lines_read:
        raw = greedy_decode(row[None], rec.charset)[0]
        plain.append(timed(partial(greedy_decode, row[None], rec.charset), repeat))
        extra.append(timed(partial(rec.constraint.read, row, raw, steps), repeat))
    return {
        "pattern": pattern,
        "lines": len(extra),
        "constrained_median_ms": round(float(np.median(extra)), 4),
        "constrained_p95_ms": round(float(np.percentile(extra, 95)), 4),
        "greedy_median_ms": round(float(np.median(plain)), 4),
        "target_ms": TARGET_MS,
        "machine": harness.machine(),
    }


def show(name: str, figures: dict) -> None:
    median = figures["constrained_median_ms"]
    print(
        f"{name} ({figures['lines']} lines, REC_PATTERN={figures['pattern']!r}): constrained "
        f"decoding median {median:.3f} ms/line (p95 {figures['constrained_p95_ms']:.3f})  "
        f"target <= {TARGET_MS:.1f} ms  {harness.verdict(median, TARGET_MS, at_most=True)};  "
        f"greedy decoding alone {figures['greedy_median_ms']:.3f} ms/line",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timings per line (best kept)")
    args = parser.parse_args(argv)
    from textdetector.detector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer

    figures = {}
    with TextDetector.open(EngineSettings(), DetectorSettings()) as det:
        for name, pattern in PATTERNS.items():
            with TextRecognizer.open(RecognizerSettings(rec_pattern=pattern)) as rec:
                figures[name] = measure(lines(name, det, rec), rec, pattern, args.repeat)
            show(name, figures[name])
    print(f"figures: {harness.write_json(harness.RESULTS / 'constrain.json', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
