"""Multi-stream benchmark: one process serving N file sources with batched inference.

For each N (default 1, 2, 4, 8) the demo video is opened N times, each stream capped at
--frames frames, and run through `process_many` (round-robin, batches of up to
--max-batch frames of one input size). Prints per-stream and total fps, the latency
from a frame's read to its result (median and 95th percentile) and the batch sizes
achieved; writes bench-results/streams.json (`python -m tools.charts` draws it).

Usage: python -m tools.bench_streams [--streams 1,2,4,8] [--frames 40] [--max-batch 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from textdetector.config import DEFAULT_VIDEO, EngineSettings, SourceSettings
from textdetector.detector import TextDetector
from textdetector.pipeline import LoopOptions, process
from textdetector.sources import open_sources

from . import harness


class Capped:
    """A source that ends after `limit` frames; notes when each frame was read."""

    def __init__(self, source, limit: int) -> None:
        self.source, self.limit = source, limit
        self.source_id, self.live = source.source_id, source.live
        self.read_at: dict[int, float] = {}

    def open(self) -> None:
        self.source.open()

    def read(self):
        frame = self.source.read()
        if frame is None or frame.index >= self.limit:
            return None
        self.read_at[frame.index] = time.perf_counter()
        return frame

    def close(self) -> None:
        self.source.close()


class Counter:
    """A sink counting frames and their latency (read to result); nothing else, so the
    figures are the pipeline's own."""

    def __init__(self, sources: list[Capped]) -> None:
        self.frames = 0
        self.sources = {source.source_id: source for source in sources}
        self.latencies_ms: list[float] = []

    def __enter__(self) -> Counter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, result) -> None:
        self.frames += 1
        read_at = self.sources[result.source_id].read_at.pop(result.index, None)
        if read_at is not None:
            self.latencies_ms.append((time.perf_counter() - read_at) * 1000)


def run_streams(
    detector: TextDetector, video: str, count: int, frames: int, max_batch: int
) -> dict:
    sources = [
        Capped(s, frames)
        for s in open_sources(SourceSettings(camera_path="|".join([video] * count), loop=True))
    ]
    counter = Counter(sources)
    start = time.perf_counter()
    summary = process(detector, sources, [counter], options=LoopOptions(max_batch=max_batch))
    wall = time.perf_counter() - start
    latency = np.percentile(counter.latencies_ms, [50, 95]) if counter.latencies_ms else [0, 0]
    per_stream = {sid: round(n / wall, 2) for sid, n in summary.per_source.items()}
    return {
        "streams": count,
        "frames": summary.frames,
        "seconds": round(wall, 2),
        "total_fps": round(summary.frames / wall, 2),
        "per_stream_fps": per_stream,
        "min_stream_fps": min(per_stream.values()),
        "max_stream_fps": max(per_stream.values()),
        "latency_ms_p50": round(float(latency[0]), 1),
        "latency_ms_p95": round(float(latency[1]), 1),
        "batch_sizes": summary.batch_sizes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1,2,4,8", help="comma-separated stream counts")
    parser.add_argument("--frames", type=int, default=40, help="frames per stream")
    parser.add_argument("--max-batch", type=int, default=4, help="most frames per engine call")
    parser.add_argument("--video", default=str(DEFAULT_VIDEO), help="video file to open N times")
    parser.add_argument("--out", default=str(harness.RESULTS / "streams.json"))
    parser.add_argument(
        "--engine",
        choices=("local", "triton"),
        default="local",
        help="triton: the same N through a local Triton server against local "
        "ONNX Runtime (tools/bench_triton.py; its options follow)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.engine == "triton":
        from . import bench_triton

        return bench_triton.main(["--streams", args.streams, *rest])
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    try:
        counts = [int(n) for n in args.streams.split(",") if n.strip()]
    except ValueError:
        parser.error("--streams expects comma-separated integers, e.g. 1,2,4,8")
    if not Path(args.video).is_file():
        print(f"video not found: {args.video} (run `make setup`)", file=sys.stderr)
        return 2
    rows = []
    with TextDetector.open(EngineSettings(), frames=True) as detector:
        run_streams(detector, args.video, 1, 3, 1)  # warm-up
        print(
            f"{'streams':>7} {'frames':>6} {'total fps':>9} {'per-stream fps':>17} "
            f"{'latency p50/p95 ms':>19} {'batch sizes (size: calls)'}"
        )
        for count in counts:
            row = run_streams(detector, args.video, count, args.frames, args.max_batch)
            rows.append(row)
            spread = f"{row['min_stream_fps']:.2f}-{row['max_stream_fps']:.2f}"
            latency = f"{row['latency_ms_p50']:.0f}/{row['latency_ms_p95']:.0f}"
            print(
                f"{count:>7} {row['frames']:>6} {row['total_fps']:>9.2f} {spread:>17} "
                f"{latency:>19} {row['batch_sizes']}"
            )
    report = {
        "video": Path(args.video).name,
        "frames_per_stream": args.frames,
        "max_batch": args.max_batch,
        "engine": "onnxruntime",
        "runs": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
