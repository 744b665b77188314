"""Benchmark: model-only vs our detector vs our pipeline vs RapidOCR, side by side.

Every contender runs on the same deterministic frames (demo-video frames at 720p and the
same frames upscaled to 1080p), in turn, several rounds; the table shows median fps per
contender and the ratios measured in this one run. Timings drift between machines and
runs: compare the ratios. The OCR section (tools/bench_ocr.py) does the same for
detection + recognition on the 720p frames; the engines section (tools/bench_matrix.py)
for every engine x precision this machine runs, with its parity-gate verdict.
Usage: python tools/bench.py [--frames N] [--rounds R] [--sizes 720p,1080p]
[--sections detection,ocr,engines] [--chart]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_matrix
import bench_ocr
import cv2
import numpy as np

from textdetector.config import DEFAULT_VIDEO, EngineSettings, SourceSettings
from textdetector.detector import TextDetector
from textdetector.detector.preprocess import to_blob
from textdetector.engines import resolve_engine
from textdetector.pipeline import process
from textdetector.recognizer import TextRecognizer
from textdetector.sinks import ConsoleSink
from textdetector.sources import open_source

MODULE_DIR = Path(__file__).resolve().parent.parent

RUN_ENGINE = EngineSettings().for_run(True)  # the engine settings `run` uses on a file
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
FIRST_TEXT_FRAME = 15  # the demo's first second has no text


def demo_frames(count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """`count` demo frames with text, resized to `size` (w, h)."""
    if not DEFAULT_VIDEO.is_file():
        sys.exit("error: demo video missing: run `make setup`")
    cap = cv2.VideoCapture(str(DEFAULT_VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, FIRST_TEXT_FRAME)
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        if (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        frames.append(frame)
    cap.release()
    return frames


def write_video(frames: list[np.ndarray], path: Path) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 15, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


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
) -> dict[str, Callable[[], float]]:
    """Name -> a callable that processes every frame once and returns seconds taken."""
    size = detector.input_size(frames[0].shape[:2])
    blobs = [to_blob(frame, size, norm=detector.policy.norm) for frame in frames]

    def model_only() -> float:
        start = time.perf_counter()
        bench_matrix.model_pass(detector.engine, blobs)
        return time.perf_counter() - start

    def ours() -> float:
        start = time.perf_counter()
        for frame in frames:
            detector.detect(frame)
        return time.perf_counter() - start

    def pipeline() -> float:
        start = time.perf_counter()
        source = open_source(SourceSettings(camera_path=str(video)))
        summary = process(detector, [source], [ConsoleSink(stream=io.StringIO(), quiet=True)])
        assert summary.frames == len(frames), summary
        return time.perf_counter() - start

    runs = {"model-only": model_only, "detector": ours, "pipeline": pipeline}
    for name, matched in (("rapidocr-defaults", False), ("rapidocr-matched", True)):
        rapid = rapidocr_detector(matched)
        if rapid is not None:
            runs[name] = bench_ocr.timed(rapid, frames)
    return runs


def measure(runs: dict[str, Callable[[], float]], count: int, rounds: int) -> dict[str, dict]:
    """Interleave contenders round by round (A B C A B C ...): drift hits all alike."""
    for run in runs.values():
        run()  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            seconds[name].append(run())
    return {
        name: {
            "fps": count / statistics.median(values),
            "fps_all": [round(count / v, 2) for v in values],
        }
        for name, values in seconds.items()
    }


RATIOS = [
    ("pipeline", "model-only", 0.95),
    ("detector", "model-only", None),
    ("detector", "rapidocr-defaults", 2.0),
    ("pipeline", "rapidocr-defaults", 2.0),
    ("detector", "rapidocr-matched", None),
]


def report(results: dict[str, dict[str, dict]]) -> dict[str, dict[str, float]]:
    ratios: dict[str, dict[str, float]] = {}
    for size, table in results.items():
        print(f"\n{size}")
        print(f"  {'contender':<20}{'median fps':>12}   runs")
        for name, row in table.items():
            print(f"  {name:<20}{row['fps']:>12.2f}   {row['fps_all']}")
        ratios[size] = {}
        for a, b, target in RATIOS:
            if a in table and b in table:
                value = table[a]["fps"] / table[b]["fps"]
                ratios[size][f"{a}/{b}"] = round(value, 3)
                goal = f"   (target >= {target})" if target else ""
                print(f"  ratio {a}/{b}: {value:.2f}{goal}")
    return ratios


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


def _clip(args: argparse.Namespace, size_name: str, folder: Path) -> tuple[list[np.ndarray], Path]:
    """The size's demo frames and the same frames as a video file."""
    frames = demo_frames(args.frames, SIZES[size_name])
    video = write_video(frames, folder / f"{size_name}.mp4")
    print(f"{size_name}: {len(frames)} frames x {args.rounds} rounds per contender ...", flush=True)
    return frames, video


def ocr_section(args: argparse.Namespace, detector: TextDetector, folder: Path) -> dict:
    """Detection + recognition end to end at 720p: fps table, ratios, crop figures."""
    frames, video = _clip(args, "720p", folder)
    counts = bench_ocr.Counts()
    with TextRecognizer.open(engine_settings=RUN_ENGINE) as recognizer:
        runs = bench_ocr.contenders(detector, recognizer, frames, video, counts)
        table = measure(runs, len(frames), args.rounds)
    return {"size": "720p", "results": table, **bench_ocr.report(table, counts, len(frames))}


def engines_section(args: argparse.Namespace, folder: Path) -> dict:
    """Every engine x precision here: model-only and pipeline fps, ratios, gate."""
    frames, video = _clip(args, "720p", folder)
    detectors, absent = bench_matrix.open_detectors()
    try:
        table = measure(bench_matrix.contenders(detectors, frames, video), len(frames), args.rounds)
        verdicts = bench_matrix.gate(detectors)
    finally:
        for detector in detectors.values():
            detector.close()
    settings = EngineSettings()
    default = f"{resolve_engine(settings)} {settings.precision}"
    ratios = bench_matrix.report(table, verdicts, absent, default)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engines.md").write_text(
        bench_matrix.markdown(table, verdicts, ratios, bench_matrix.machine()), encoding="utf-8"
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
        default=MODULE_DIR.parent.parent.parent / "bench-results",
        help="folder for bench.json (and the chart)",
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
    detector = TextDetector.open(RUN_ENGINE)
    results: dict[str, dict[str, dict]] = {}
    output: dict = {"frames": args.frames, "rounds": args.rounds, "machine": bench_matrix.machine()}
    print(
        f"machine: {output['machine']}; engine {resolve_engine(RUN_ENGINE)} "
        f"(OpenVINO hint {RUN_ENGINE.ov_performance_hint})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size_name in args.sizes.split(",") if "detection" in sections else []:
            frames, video = _clip(args, size_name, Path(tmp))
            results[size_name] = measure(
                contenders(detector, frames, video), len(frames), args.rounds
            )
        if results:
            output.update(results=results, ratios=report(results))
        if "ocr" in sections:
            output["ocr"] = ocr_section(args, detector, Path(tmp))
        if "engines" in sections:
            output["engines"] = engines_section(args, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(output, indent=1))
    print(f"\nJSON: {args.out / 'bench.json'}")
    if args.chart and results:
        chart(results, args.out / "bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
