"""Triton vs local ONNX Runtime: N sources sending detector requests on one machine.

Each of N threads (one per source) sends the detector's input for a demo frame (720p
capped at 960: 1x3x544x960), one request at a time, for --seconds. The local baseline
runs the same requests on one ONNX Runtime session shared by the threads; the two
engines run in alternating slices (--rounds) so drifting load hits both alike. Reports fps,
p50/p99 request latency and, for Triton, the mean batch its dynamic batcher formed
(inferences / executions from the metrics endpoint). Targets: Triton's overhead at N = 1
at most 20 %, batches (mean > 1) at N >= 4.

Without --triton-url a real Triton server (the test harness: nvidia-pytriton serving the
ONNX model through ONNX Runtime, .tools/triton from scripts/test-deps.d/50-triton.sh) is
started for the run. Writes bench-results/triton.json.

Usage: python -m tools.bench_triton [--streams 1,2,4] [--seconds 6] [--rounds 3]
       [--triton-url grpc://host:8001 --metrics-url http://host:8002/metrics]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from textdetector.config import DEFAULT_MODEL, DEFAULT_VIDEO, TritonSettings
from textdetector.detector.preprocess import input_size, to_blob
from textdetector.engines.onnxruntime_engine import OnnxRuntimeEngine
from textdetector.engines.triton_engine import TritonEngine
from textdetector.export.triton import describe_onnx, triton_model_name

from . import harness

TARGET_OVERHEAD = 0.20
BATCH_FROM_N = 4


def demo_blob() -> np.ndarray:
    frames = harness.demo_frames(1, first=60)
    if not frames:
        raise SystemExit(f"cannot read {DEFAULT_VIDEO}")
    frame = frames[0]
    return to_blob(frame, input_size(frame.shape[0], frame.shape[1], 960))


def drive(call: Callable[[], object], streams: int, seconds: float) -> tuple[list, float]:
    """N threads calling `call` back to back for `seconds`: latencies (ms), elapsed (s)."""
    latencies: list[list[float]] = [[] for _ in range(streams)]
    stop = time.monotonic() + seconds

    def loop(slot: int) -> None:
        while time.monotonic() < stop:
            start = time.perf_counter()
            call()
            latencies[slot].append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(streams)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [x for lat in latencies for x in lat], time.monotonic() - began


def summary(latencies: list[float], elapsed: float) -> dict:
    flat = np.asarray(latencies)
    return {
        "requests": int(flat.size),
        "fps": round(flat.size / elapsed, 2),
        "p50_ms": round(float(np.percentile(flat, 50)), 1),
        "p99_ms": round(float(np.percentile(flat, 99)), 1),
    }


def alternate(
    calls: dict[str, Callable[[], object]], streams: int, seconds: float, rounds: int
) -> dict[str, dict]:
    """Run the engines in alternating slices, so load drifting on the machine hits both."""

    def slice_of(call: Callable[[], object]) -> Callable[[], tuple[list, float]]:
        return lambda: drive(call, streams, seconds / rounds)

    slices = harness.alternate({name: slice_of(call) for name, call in calls.items()}, rounds)
    return {
        name: summary([x for latencies, _ in runs for x in latencies], sum(e for _, e in runs))
        for name, runs in slices.items()
    }


def counters(metrics_url: str, model: str) -> tuple[float, float]:
    """Triton's (inferences, executions) for `model` so far."""
    with urllib.request.urlopen(metrics_url, timeout=5) as answer:
        text = answer.read().decode()

    def total(name: str) -> float:
        pattern = rf'^{name}{{model="{model}",version="[^"]*"}} (\S+)$'
        return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))

    return total("nv_inference_count"), total("nv_inference_exec_count")


@contextlib.contextmanager
def triton_endpoint(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.triton_url:
        yield args.triton_url, args.metrics_url
        return
    triton_server = harness.test_harness("triton_server")

    if not triton_server.available():
        raise SystemExit(
            "no Triton server: pass --triton-url, or run "
            "scripts/test-deps.d/50-triton.sh to get the test server"
        )
    with (
        tempfile.TemporaryDirectory() as workdir,
        triton_server.running(Path(workdir), [describe_onnx(DEFAULT_MODEL)]) as server,
    ):
        yield server.grpc_url, server.metrics_url


def bench(args: argparse.Namespace) -> dict:
    blob = demo_blob()
    local = OnnxRuntimeEngine.open(DEFAULT_MODEL)
    rows = []
    with triton_endpoint(args) as (url, metrics_url):
        remote_settings = TritonSettings(triton_url=url, triton_timeout=120.0)
        remote = TritonEngine.open(DEFAULT_MODEL, remote_settings)
        model = triton_model_name(DEFAULT_MODEL)
        remote.run({"x": blob})
        local.run({"x": blob})  # warm both
        for streams in args.streams:
            before = counters(metrics_url, model) if metrics_url else None
            result = alternate(
                {
                    "onnxruntime": lambda: local.run({"x": blob}),
                    "triton": lambda: remote.run({"x": blob}),
                },
                streams,
                args.seconds,
                args.rounds,
            )
            ort_row, triton_row = result["onnxruntime"], result["triton"]
            if before:
                after = counters(metrics_url, model)
                executions = after[1] - before[1]
                triton_row["mean_batch"] = round((after[0] - before[0]) / max(executions, 1), 2)
            rows.append(
                {
                    "streams": streams,
                    "onnxruntime": ort_row,
                    "triton": triton_row,
                    "overhead": round(1 - triton_row["fps"] / ort_row["fps"], 3),
                }
            )
            print(format_row(rows[-1]), flush=True)
        remote.close()
    local.close()
    return {"input": list(blob.shape), "seconds": args.seconds, "rounds": args.rounds, "rows": rows}


def format_row(row: dict) -> str:
    o, t = row["onnxruntime"], row["triton"]
    return (
        f"N={row['streams']}: ORT {o['fps']:.1f} fps p50 {o['p50_ms']} ms p99 {o['p99_ms']} ms"
        f" | Triton {t['fps']:.1f} fps p50 {t['p50_ms']} ms p99 {t['p99_ms']} ms"
        f" mean batch {t.get('mean_batch', '?')} | overhead {row['overhead']:+.0%}"
    )


def verdict(result: dict) -> list[str]:
    lines = []
    for row in result["rows"]:
        if row["streams"] == 1:
            ok = row["overhead"] <= TARGET_OVERHEAD
            lines.append(
                f"overhead at N=1: {row['overhead']:+.0%} "
                f"(target <= {TARGET_OVERHEAD:.0%}) {'met' if ok else 'MISSED'}"
            )
        if row["streams"] >= BATCH_FROM_N and "mean_batch" in row["triton"]:
            ok = row["triton"]["mean_batch"] > 1
            lines.append(
                f"mean batch at N={row['streams']}: {row['triton']['mean_batch']} "
                f"(target > 1) {'met' if ok else 'MISSED'}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="1,2,4", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument(
        "--seconds",
        type=float,
        default=6.0,
        help="per engine and N, split over --rounds alternating slices",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--triton-url", default="")
    parser.add_argument(
        "--metrics-url", default="", help="Triton metrics endpoint, for the batch sizes"
    )
    parser.add_argument("--out", type=Path, default=harness.RESULTS / "triton.json")
    args = parser.parse_args(argv)
    result = bench(args)
    result["verdict"] = verdict(result)
    print("\n".join(result["verdict"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
