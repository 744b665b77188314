"""Benchmark: ONNX Runtime vs OpenVINO, FP32 / BF16 / INT8, side by side in one run.

Detector model at 720p capped to 544x960 and recogniser at 6x48x320; every contender runs
the same inputs in turn, round after round (interleaved), and the table shows median ms,
the ratio to ONNX Runtime FP32 and the parity-gate verdict of each detector contender
against ONNX Runtime FP32 boxes on the fixed evaluation set. A last section times the
whole detector (pre-process, model, DB post-process) sequential vs overlapped (frame N+1
inferring while frame N is post-processed). Timings drift between runs: read the ratios.
Usage: python -m tools.bench_engines [--frames N] [--rounds R] [--no-gate] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from textdetector.config import DEFAULT_MODEL, DEFAULT_VIDEO, EngineSettings, RecognizerSettings
from textdetector.detector.postprocess import DBPostProcess
from textdetector.detector.preprocess import input_size, to_blob
from textdetector.engines.base import overlapped
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.openvino_engine import OpenVinoEngine, cpu_supports
from textdetector.tuning.parity import detect_frames, detection_parity, judge
from textdetector.tuning.quantize import quantized_model, quantized_rec_model
from textdetector.tuning.rec_check import line_accuracy, truth_lines
from textdetector.tuning.samples import EVALUATION_FRAMES, evaluation_frames, video_frames
from textdetector.tuning.select import INT8_CACHE

from . import harness

REC_MODEL = RecognizerSettings().rec_model  # the default MODEL_SET's recogniser
DEMO_TRUTH = DEFAULT_VIDEO.with_suffix(".gt.jsonl")
REC_SHAPE = (6, 3, 48, 320)
Run = Callable[[np.ndarray], np.ndarray]


def ort_runner(model: Path) -> Run:
    engine = OnnxRuntimeEngine.open(model, EngineSettings(model_path=model))
    name = engine.inputs[0].name
    output = engine.outputs[0].name
    return lambda blob: engine.run({name: blob})[output]


def ov_runner(model: Path, precision: str, shapes: str = "dynamic") -> Run:
    engine = OpenVinoEngine.open(model, precision, shapes=shapes)
    name = engine.inputs[0].name
    output = engine.outputs[0].name
    return lambda blob: engine.run({name: blob})[output]


def det_contenders(int8: Path | None) -> dict[str, Run]:
    runners = {
        "ORT FP32": ort_runner(DEFAULT_MODEL),
        "OV FP32": ov_runner(DEFAULT_MODEL, "fp32"),
        "OV FP32 static": ov_runner(DEFAULT_MODEL, "fp32", "static"),
    }
    if cpu_supports("bf16"):
        runners["OV BF16"] = ov_runner(DEFAULT_MODEL, "bf16")
    if int8 is not None:
        runners["OV INT8"] = ov_runner(int8, "int8")
    return runners


def rec_contenders(int8: Path | None) -> dict[str, Run]:
    runners = {"ORT FP32": ort_runner(REC_MODEL), "OV FP32": ov_runner(REC_MODEL, "fp32")}
    if cpu_supports("bf16"):
        runners["OV BF16"] = ov_runner(REC_MODEL, "bf16")
    if int8 is not None:
        runners["OV INT8"] = ov_runner(int8, "int8")
    return runners


def rec_gate(runners: dict[str, Run]) -> dict[str, str]:
    """Line accuracy on the evaluation lines, each contender against ONNX Runtime FP32."""
    lines = truth_lines(DEFAULT_VIDEO, DEMO_TRUTH, EVALUATION_FRAMES)
    characters = OpenVinoEngine.open(REC_MODEL).metadata["character"].splitlines()
    reference = line_accuracy(runners["ORT FP32"], lines, characters)
    verdicts = {"ORT FP32": f"reference, line accuracy {reference:.1f}% ({len(lines)} lines)"}
    for name, run in runners.items():
        if name != "ORT FP32":
            result = judge(name, None, (reference, line_accuracy(run, lines, characters)))
            verdicts[name] = result.summary().split(": ", 1)[1]
    return verdicts


def interleaved(runners: dict[str, Run], inputs: list[np.ndarray], rounds: int) -> dict[str, float]:
    """Median ms per input of each runner, runners taking turns every round."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run(inputs[0])  # warm-up (first-shape compile, allocations)
    for _ in range(rounds):
        for name, run in runners.items():
            for item in inputs:
                start = time.perf_counter()
                run(item)
                times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: statistics.median(values) for name, values in times.items()}


def gate_vs_ort(runners: dict[str, Run], reference: str = "ORT FP32") -> dict[str, str]:
    """Each detector contender's gate verdict against the `reference` contender's boxes
    (ONNX Runtime FP32) on the fixed evaluation set."""
    frames = evaluation_frames(DEFAULT_VIDEO)
    expected, _ = detect_frames(runners[reference], frames)
    verdicts = {reference: "reference"}
    for name, run in runners.items():
        if name == reference:
            continue
        detections, _ = detect_frames(run, frames)
        result = judge(name, detection_parity(expected, detections))
        identical = all(np.array_equal(a.boxes, b.boxes) for a, b in zip(expected, detections))
        verdicts[name] = result.summary().split(": ", 1)[1] + (
            ", boxes identical" if identical else ""
        )
    return verdicts


def detector_fps(frames: list[np.ndarray], rounds: int, int8: Path | None) -> dict[str, float]:
    """Whole-detector fps (pre-process, model, DB post-process): ONNX Runtime FP32 as the
    detector runs today, OpenVINO sequential, overlapped (frame N+1 inferring while frame
    N is post-processed) with the LATENCY and THROUGHPUT hints, and INT8 overlapped."""
    post = DBPostProcess()
    ort_run = ort_runner(DEFAULT_MODEL)
    engines = {
        "latency": OpenVinoEngine.open(DEFAULT_MODEL, "fp32", "latency", requests=2),
        "throughput": OpenVinoEngine.open(DEFAULT_MODEL, "fp32", "throughput", requests=2),
    }
    if int8 is not None:
        engines["int8"] = OpenVinoEngine.open(int8, "int8", "throughput", requests=2)

    def blob(frame: np.ndarray) -> np.ndarray:
        return to_blob(frame, input_size(frame.shape[0], frame.shape[1], 960))

    def ort_sequential() -> None:
        for frame in frames:
            post(ort_run(blob(frame))[0, 0], frame.shape[:2])

    def sequential(engine: OpenVinoEngine) -> Callable[[], object]:
        return lambda: [
            post(engine.run({"x": blob(f)})["sigmoid_0.tmp_0"][0, 0], f.shape[:2]) for f in frames
        ]

    def overlapping(engine: OpenVinoEngine) -> Callable[[], object]:
        return lambda: [
            post(out["sigmoid_0.tmp_0"][0, 0], f.shape[:2])
            for f, out in overlapped(engine, frames, lambda f: {"x": blob(f)})
        ]

    loops: dict[str, Callable[[], object]] = {
        "ORT FP32 sequential (today)": ort_sequential,
        "OV FP32 sequential": sequential(engines["latency"]),
        "OV FP32 overlapped, LATENCY": overlapping(engines["latency"]),
        "OV FP32 overlapped, THROUGHPUT": overlapping(engines["throughput"]),
    }
    if "int8" in engines:
        loops["OV INT8 overlapped, THROUGHPUT"] = overlapping(engines["int8"])
    runs = {label: harness.timed(loop) for label, loop in loops.items()}
    measured = harness.measure(runs, len(frames), rounds)
    return {label: row["fps"] for label, row in measured.items()}


def table(title: str, medians: dict[str, float], verdicts: dict[str, str]) -> list[str]:
    base = medians["ORT FP32"]
    lines = [f"{title}", f"  {'contender':<16} {'median ms':>10} {'speed-up':>9}  gate"]
    for name, ms in medians.items():
        lines.append(f"  {name:<16} {ms:>10.1f} {base / ms:>8.2f}x  {verdicts.get(name, '')}")
    if "OV BF16" not in medians:
        lines.append(f"  {'OV BF16':<16} {'n/a':>10} {'':>9}  this CPU has no native BF16")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-gate", action="store_true", help="skip the parity gate")
    parser.add_argument("--no-int8", action="store_true", help="skip INT8 (no quantizing)")
    parser.add_argument(
        "--json",
        type=Path,
        default=harness.RESULTS / "bench_engines.json",
        help="where the figures go (default: bench-results/bench_engines.json)",
    )
    args = parser.parse_args(argv)
    if not DEFAULT_VIDEO.is_file() or not DEFAULT_MODEL.is_file():
        print("error: models or demo video missing: run `make setup`", file=sys.stderr)
        return 1
    int8 = rec_int8 = None
    if not args.no_int8:
        int8 = quantized_model(DEFAULT_MODEL, INT8_CACHE, DEFAULT_VIDEO)
        rec_int8 = quantized_rec_model(REC_MODEL, INT8_CACHE, DEFAULT_VIDEO, DEMO_TRUTH)
    frames = video_frames(DEFAULT_VIDEO, range(20, 20 + 7 * args.frames, 7))
    blobs = [to_blob(f, input_size(f.shape[0], f.shape[1], 960)) for f in frames]
    det = det_contenders(int8)
    det_ms = interleaved(det, blobs, args.rounds)
    verdicts = {} if args.no_gate else gate_vs_ort(det)
    rng = np.random.default_rng(0)
    rec_inputs = [rng.uniform(-1, 1, REC_SHAPE).astype(np.float32) for _ in range(3)]
    rec = rec_contenders(rec_int8)
    rec_ms = interleaved(rec, rec_inputs, args.rounds)
    rec_verdicts = {} if args.no_gate else rec_gate(rec)
    fps = detector_fps(frames, args.rounds, int8)
    lines = table(
        f"detector model, {blobs[0].shape[2]}x{blobs[0].shape[3]} "
        f"({len(blobs)} frames x {args.rounds} rounds)",
        det_ms,
        verdicts,
    )
    lines += table(f"recogniser model {REC_MODEL.name}, 6x48x320", rec_ms, rec_verdicts)
    lines += ["whole detector (pre + model + post), fps and ratio to today's"]
    today = fps["ORT FP32 sequential (today)"]
    lines += [f"  {label:<32} {value:>6.2f} {value / today:>6.2f}x" for label, value in fps.items()]
    print("\n".join(lines))
    figures = {
        "det_ms": det_ms,
        "det_gate": verdicts,
        "rec_model": REC_MODEL.name,
        "rec_ms": rec_ms,
        "rec_gate": rec_verdicts,
        "detector_fps": fps,
    }
    print(f"wrote {harness.write_json(args.json, figures, indent=2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
