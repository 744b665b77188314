"""Benchmark the HTTP scoring service against in-process detection and a Flask baseline.

All three do the same work per image (decode the encoded bytes, detect, build the LVA
answer) on the same images in one run, so the ratios are comparable even when the
machine is noisy. The load generator is an asyncio client (aiohttp) keeping
`concurrency` requests in flight. The Flask baseline reproduces the seeds' design: one
Flask process serving one request at a time (threaded=False); it lives here, not in the
product.

    python tools/bench_http.py                  # concurrency 1, 4, 16 (under 2 minutes)
    python tools/bench_http.py --workers 1,2 --requests 96 --json out.json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np


from textdetector.config import DEFAULT_VIDEO, DetectorSettings, EngineSettings
from textdetector.detector import TextDetector
from textdetector.serve.formats import lva_inferences

MODULE_DIR = Path(__file__).resolve().parent.parent

DEFAULT_JSON = MODULE_DIR.parent.parent.parent / "bench-results" / "bench_http.json"


def load_images(count: int) -> list[bytes]:
    """JPEG frames (1280x720) of the demo video, evenly spread, as a camera would send."""
    capture = cv2.VideoCapture(str(DEFAULT_VIDEO))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or count
    wanted = {int(i * total / count) for i in range(count)}
    images, index = [], 0
    while len(images) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index in wanted:
            images.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
                          .tobytes())
        index += 1
    capture.release()
    if not images:
        sys.exit(f"error: no frames in {DEFAULT_VIDEO}; run `make setup`")
    return images


def percentiles(latencies: list[float]) -> dict[str, float]:
    values = np.array(latencies) * 1000.0
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)}


def in_process(images: list[bytes], requests: int) -> dict[str, Any]:
    """Decode + detect + answer, sequentially, in this process: the ceiling to compare with."""
    with TextDetector.open(EngineSettings(), DetectorSettings()) as detector:
        for data in images[:2]:
            detector.detect(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        latencies = []
        start = time.perf_counter()
        for i in range(requests):
            t0 = time.perf_counter()
            image = cv2.imdecode(np.frombuffer(images[i % len(images)], np.uint8),
                                 cv2.IMREAD_COLOR)
            json.dumps(lva_inferences(detector.detect(image)[0], "text"))
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
    return {"requests": requests, "throughput_rps": requests / wall, **percentiles(latencies)}


async def load(url: str, images: list[bytes], concurrency: int,
               requests: int) -> dict[str, Any]:
    """Keep `concurrency` POSTs in flight until `requests` have been answered."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(requests))
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        async def worker() -> None:
            for i in counter:
                t0 = time.perf_counter()
                async with session.post(url, data=images[i % len(images)],
                                        headers={"Content-Type": "image/jpeg"}) as reply:
                    await reply.read()
                    statuses[reply.status] = statuses.get(reply.status, 0) + 1
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"requests": requests, "throughput_rps": requests / wall, "statuses": statuses,
            **percentiles(latencies)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"error: server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"error: server not ready within {timeout:.0f} s")


def start_server(kind: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    if kind == "aiohttp":
        command = [sys.executable, "main.py", "serve", "--port", str(port),
                   "--workers", str(workers), "--queue-size", "64"]
        ready = f"http://127.0.0.1:{port}/v2/health/ready"
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--flask-server", str(port)]
        ready = f"http://127.0.0.1:{port}/ready"
    env = {**os.environ, "LOG_LEVEL": "warning"}
    proc = subprocess.Popen(command, cwd=MODULE_DIR, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(ready, proc)
    return proc, f"http://127.0.0.1:{port}/score"


def bench_server(kind: str, workers: int, images: list[bytes], levels: list[int],
                 requests: int) -> dict[int, dict[str, Any]]:
    proc, url = start_server(kind, workers)
    try:
        asyncio.run(load(url, images, 1, 4))  # warm the connection path
        return {c: asyncio.run(load(url, images, c, max(requests, 2 * c))) for c in levels}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def flask_server(port: int) -> None:
    """The seeds' design: Flask, one process, one request at a time, same detector work."""
    from flask import Flask, Response, jsonify, request

    detector = TextDetector.open(EngineSettings(), DetectorSettings())
    app = Flask("seed-baseline")

    @app.post("/score")
    def score():  # type: ignore[no-untyped-def]
        image = cv2.imdecode(np.frombuffer(request.get_data(), np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return jsonify(error="not an image"), 400
        body = lva_inferences(detector.detect(image)[0], "text")
        return Response(status=204) if body is None else jsonify(body)

    @app.get("/ready")
    def ready():  # type: ignore[no-untyped-def]
        return jsonify(ready=True)

    app.run("127.0.0.1", port, threaded=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated levels")
    parser.add_argument("--requests", type=int, default=24, help="requests per level")
    parser.add_argument("--images", type=int, default=12, help="distinct demo frames used")
    parser.add_argument("--workers", default="1",
                        help="service worker counts, e.g. 1,2 (the first is the headline)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="write results here")
    parser.add_argument("--flask-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flask_server:
        flask_server(args.flask_server)
        return 0
    levels = [int(c) for c in args.concurrency.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    images = load_images(args.images)
    print(f"{len(images)} JPEG frames (720p) of the demo video; {args.requests} requests per "
          f"level; {os.cpu_count()} CPU cores", flush=True)

    before = in_process(images, args.requests)
    service = {w: bench_server("aiohttp", w, images, levels, args.requests)
               for w in worker_counts}
    flask = bench_server("flask", 1, images, levels, args.requests)
    after = in_process(images, args.requests)
    inproc_rps = statistics.mean([before["throughput_rps"], after["throughput_rps"]])

    rows = [("in-process", "-", "-", before), ("in-process (again)", "-", "-", after)]
    for w, results in service.items():
        rows += [(f"aiohttp service, {w} worker(s)", c, w, results[c]) for c in levels]
    rows += [("Flask single worker", c, 1, flask[c]) for c in levels]
    print(f"\n{'mode':<32}{'conc':>5}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'x in-proc':>11}{'x Flask':>9}")
    for name, c, _, r in rows:
        vs_flask = (f"{r['throughput_rps'] / flask[c]['throughput_rps']:.2f}"
                    if c in flask else "-")
        print(f"{name:<32}{c!s:>5}{r['throughput_rps']:>8.2f}{r['p50_ms']:>9.1f}"
              f"{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['throughput_rps'] / inproc_rps:>11.2f}{vs_flask:>9}")
    head = service[worker_counts[0]]
    verdict = {c: {"vs_in_process": head[c]["throughput_rps"] / inproc_rps,
                   "vs_flask": head[c]["throughput_rps"] / flask[c]["throughput_rps"]}
               for c in levels}
    for c in (c for c in levels if c >= 4):
        print(f"target at concurrency {c}: {verdict[c]['vs_in_process']:.2f} x in-process "
              f"(>= 0.9: {'met' if verdict[c]['vs_in_process'] >= 0.9 else 'NOT met'}), "
              f"{verdict[c]['vs_flask']:.2f} x Flask "
              f"(>= 2: {'met' if verdict[c]['vs_flask'] >= 2 else 'NOT met'})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "images": len(images), "requests_per_level": args.requests, "cpu_count": os.cpu_count(),
        "in_process": [before, after], "in_process_rps": inproc_rps,
        "service": {str(w): {str(c): r for c, r in res.items()} for w, res in service.items()},
        "flask": {str(c): r for c, r in flask.items()},
        "ratios": {str(c): v for c, v in verdict.items()}}, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
