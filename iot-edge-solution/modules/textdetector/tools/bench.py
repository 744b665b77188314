"""Benchmark: model-only vs our detector vs our pipeline vs RapidOCR, side by side.

Every contender runs on the same deterministic frames (demo-video frames at 720p and the
same frames upscaled to 1080p), in turn, several rounds; the table shows median fps per
contender and the ratios measured in this one run. Timings drift between machines and
runs: compare the ratios. The OCR section (tools/bench_ocr.py) does the same for
detection + recognition on the 720p frames; the engines section (tools/bench_matrix.py)
for every engine x precision this machine runs, with its parity-gate verdict.
Usage: python -m tools.bench [--frames N] [--rounds R] [--sizes 720p,1080p]
[--sections detection,ocr,engines] [--chart]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from textdetector.config import EngineSettings
from textdetector.detector import TextDetector
from textdetector.engines import resolve_engine
from textdetector.recognizer import TextRecognizer

from . import bench_matrix, bench_ocr, harness

RUN_ENGINE = EngineSettings().for_run(True)  # the engine settings `run` uses on a file


def rapidocr_detector(matched: bool):
    """RapidOCR's TextDetector at its defaults, or at our input size and thresholds."""
    try:
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector as RapidDetector
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
    except ImportError:
        return None
    config = {
        "model_path": str(EngineSettings().model_path),
        "use_cuda": False,
        "limit_side_len": 736,
        "limit_type": "min",
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
        "thresh": 0.3,
        "box_thresh": 0.5,
        "max_candidates": 1000,
        "unclip_ratio": 1.6,
        "use_dilation": True,
        "score_mode": "fast",
    }
    if matched:
        config.update(bench_ocr.matched_det())
    rapid = RapidDetector(config)
    if matched:  # RapidOCR raises the cap with the image size; pin it to ours
        rapid.get_preprocess = lambda _max_wh: DetPreProcess(
            config["limit_side_len"], config["limit_type"], config["mean"], config["std"]
        )
    return rapid


def contenders(
    detector: TextDetector, frames: list[np.ndarray], video: Path
) -> dict[str, harness.Timed]:
    """Name -> a callable that processes every frame once and returns seconds taken."""
    blobs = harness.detection_blobs(detector, frames)
    runs = {
        "model-only": harness.model_only(detector.engine, blobs),
        "detector": harness.each_frame(detector.detect, frames),
        "pipeline": harness.pipeline(detector, video, len(frames)),
    }
    for name, matched in (("rapidocr-defaults", False), ("rapidocr-matched", True)):
        rapid = rapidocr_detector(matched)
        if rapid is not None:
            runs[name] = harness.each_frame(rapid, frames)
    return runs


RATIOS = [
    ("pipeline", "model-only", 0.95),
    ("detector", "model-only", None),
    ("detector", "rapidocr-defaults", 2.0),
    ("pipeline", "rapidocr-defaults", 2.0),
    ("detector", "rapidocr-matched", None),
]


def report(results: dict[str, dict[str, dict]]) -> dict[str, dict[str, float]]:
    """Per size: the fps table and the ratios with their targets."""
    found: dict[str, dict[str, float]] = {}
    for size, table in results.items():
        harness.fps_table(f"\n{size}", table)
        found[size] = harness.ratios(table, RATIOS)
    return found


def chart(results: dict[str, dict[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, (size, table) in zip(axes[0], results.items()):
        ax.barh(list(table), [row["fps"] for row in table.values()], color="#3b7dd8")
        ax.set_title(f"{size}: median fps (higher is better)")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"chart: {path}")


def markdown(output: dict) -> str:
    """bench.md: the sections run, as the tables the docs quote."""
    parts = [
        f"Measured by `make bench` on {output['machine']} ({output['frames']} demo frames "
        f"with text, {output['rounds']} interleaved rounds, medians; {output['engine']}).\n"
    ]
    results = output.get("results", {})
    if results:
        names = list(next(iter(results.values())))
        parts.append("\nDetection, median fps:\n\n")
        parts.append(
            harness.markdown(
                ["size", *names],
                [[size, *(f"{t[n]['fps']:.2f}" for n in names)] for size, t in results.items()],
            )
        )
        rows = []
        for a, b, target in RATIOS:
            key = f"{a}/{b}"
            cells = [
                harness.cell(output["ratios"][size][key], target)
                if key in output["ratios"][size]
                else "n/a"
                for size in results
            ]
            rows.append([f"{a} / {b}", *cells, f">= {target}" if target else ""])
        parts.append("\n" + harness.markdown(["ratio", *results, "target"], rows))
    if "ocr" in output:
        parts.append("\nOCR (detection + recognition), 720p:\n\n")
        parts.append(bench_ocr.markdown({output["ocr"]["model_set"]: output["ocr"]}))
    return "".join(parts)


def ocr_section(args: argparse.Namespace, detector: TextDetector, folder: Path) -> dict:
    """Detection + recognition end to end at 720p: fps table, ratios, crop figures."""
    frames, video = harness.clip(args.frames, args.rounds, "720p", folder)
    counts = bench_ocr.Counts()
    with TextRecognizer.open(engine_settings=RUN_ENGINE) as recognizer:
        runs = bench_ocr.contenders(detector, recognizer, frames, video, counts)
        table = harness.measure(runs, len(frames), args.rounds)
    return {
        "size": "720p",
        "model_set": recognizer.settings.model_set,
        "results": table,
        **bench_ocr.report(table, counts, len(frames)),
    }


def engines_section(args: argparse.Namespace, folder: Path) -> dict:
    """Every engine x precision here: model-only and pipeline fps, ratios, gate."""
    frames, video = harness.clip(args.frames, args.rounds, "720p", folder)
    detectors, absent = bench_matrix.open_detectors()
    try:
        runs = bench_matrix.contenders(detectors, frames, video)
        table = harness.measure(runs, len(frames), args.rounds)
        verdicts = bench_matrix.gate(detectors)
    finally:
        for detector in detectors.values():
            detector.close()
    settings = EngineSettings()
    default = f"{resolve_engine(settings)} {settings.precision}"
    ratios = bench_matrix.report(table, verdicts, absent, default)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engines.md").write_text(
        bench_matrix.markdown(table, verdicts, ratios, harness.machine()), encoding="utf-8"
    )
    print(f"  README table: {args.out / 'engines.md'}")
    return {"size": "720p", "results": table, "gate": verdicts, "ratios": ratios, "absent": absent}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="frames per contender run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per contender")
    parser.add_argument("--sizes", default="720p,1080p", help="comma list of 720p, 1080p")
    parser.add_argument(
        "--out",
        type=Path,
        default=harness.RESULTS,
        help="folder for bench.json, bench.md (and the chart)",
    )
    parser.add_argument(
        "--sections",
        default="detection,ocr,engines",
        help="comma list of detection, ocr, engines (OCR and engines run on 720p frames)",
    )
    parser.add_argument("--chart", action="store_true", help="also draw bench.png")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if (
        not sections
        or sections - {"detection", "ocr", "engines"}
        or args.frames < 1
        or args.rounds < 1
    ):
        parser.error("--sections takes detection, ocr, engines; --frames, --rounds >= 1")
    detector = TextDetector.open(RUN_ENGINE, frames=True)
    results: dict[str, dict[str, dict]] = {}
    output: dict = {
        "frames": args.frames,
        "rounds": args.rounds,
        "machine": harness.machine(),
        "engine": f"engine {resolve_engine(RUN_ENGINE)} "
        f"(OpenVINO hint {RUN_ENGINE.ov_performance_hint})",
    }
    print(f"machine: {output['machine']}; {output['engine']}")
    with tempfile.TemporaryDirectory() as tmp:
        for size_name in args.sizes.split(",") if "detection" in sections else []:
            frames, video = harness.clip(args.frames, args.rounds, size_name, Path(tmp))
            runs = contenders(detector, frames, video)
            results[size_name] = harness.measure(runs, len(frames), args.rounds)
        if results:
            output.update(results=results, ratios=report(results))
        if "ocr" in sections:
            output["ocr"] = ocr_section(args, detector, Path(tmp))
        if "engines" in sections:
            output["engines"] = engines_section(args, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(output, indent=1))
    print(f"\nJSON: {args.out / 'bench.json'}")
    if results or "ocr" in output:
        print(f"tables: {harness.write_text(args.out / 'bench.md', markdown(output))}")
    if args.chart and results:
        chart(results, args.out / "bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
