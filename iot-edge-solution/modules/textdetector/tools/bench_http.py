"""Benchmark the HTTP scoring service against the same work done in-process.

In-process is the service's own detector and recogniser, opened by the service's own
factories (same engine, hint, shapes, READ_TEXT) and called directly by `concurrency`
threads: decode + detect + read + JSON answer, exactly a request's work without HTTP.
For each concurrency level the two alternate `--rounds` times in one run, so the ratios
hold even when the machine is noisy; throughput is the median of the rounds, p50/p99 come
from every request. The load generator is an asyncio client (aiohttp) keeping
`concurrency` requests in flight. CPU time per request (the server's plus the client's
for HTTP) shows the HTTP cost itself, even on a busy machine. Target: the service at
concurrency 16 reaches >= 0.95 x the best in-process throughput at any level. A Flask
baseline (the seeds' design: one process, one request at a time, the same work) lives
here, not in the product.

    python -m tools.bench_http                  # concurrency 1, 4, 16
    python -m tools.bench_http --no-flask --rounds 3 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil

from textdetector.config import (
    DEFAULT_VIDEO,
    DetectorSettings,
    EngineSettings,
    RecognizerSettings,
    ServeSettings,
    load,
)
from textdetector.detector import TextDetector
from textdetector.recognizer import TextRecognizer
from textdetector.serve.decode import Limits, read_header
from textdetector.serve.formats import lva_inferences
from textdetector.serve.pool import score_image
from textdetector.serve.server import detector_factory, recognizer_factory

from . import harness

MODULE_DIR = harness.MODULE_DIR

DEFAULT_JSON = harness.RESULTS / "bench_http.json"
TARGET_CONCURRENCY = 16
TARGET_RATIO = 0.95  # service throughput / best in-process throughput
FLASK_TARGET = 2.0  # service / Flask at concurrency >= 4 (needs spare compute, README)
OK_STATUSES = (200, 204)


def load_images(count: int) -> list[bytes]:
    """JPEG frames (1280x720) of the demo video, evenly spread, as a camera would send."""
    capture = cv2.VideoCapture(str(DEFAULT_VIDEO))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or count
    wanted = {int(i * total / count) for i in range(count)}
    images: list[bytes] = []
    index = 0
    while len(images) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index in wanted:
            images.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        index += 1
    capture.release()
    if not images:
        sys.exit(f"error: no frames in {DEFAULT_VIDEO}; run `make setup`")
    return images


class Direct:
    """The service's detector and recogniser, opened as the service opens them (same
    settings from the environment), called without HTTP."""

    def __init__(self) -> None:
        engine = load(EngineSettings)
        self.detector: TextDetector = detector_factory(engine, load(DetectorSettings))()
        self.recognizer: TextRecognizer | None = recognizer_factory(
            engine, load(RecognizerSettings)
        )()
        serve = load(ServeSettings)
        self.limits = Limits(serve.max_body_bytes, serve.max_pixels)
        self.tag = serve.tag

    def answer(self, data: bytes) -> bytes:
        """A request's work: check the header, decode, detect, read, encode the answer."""
        detections = score_image(
            self.detector, self.recognizer, data, read_header(data, self.limits)
        )
        body = lva_inferences(detections, self.tag)
        return b"" if body is None else json.dumps(body).encode()

    def close(self) -> None:
        self.detector.close()
        if self.recognizer is not None:
            self.recognizer.close()


def percentiles(latencies: list[float]) -> dict[str, float]:
    values = np.array(latencies) * 1000.0
    return {f"p{q}_ms": round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)}


def run(
    kind: str,
    concurrency: int,
    requests: int,
    wall: float,
    latencies: list[float],
    statuses: dict[int, int],
    cpu_s: float,
) -> dict[str, Any]:
    """One measured run: `requests` answered by `kind` with `concurrency` in flight, using
    `cpu_s` CPU seconds (the server's and the client's for HTTP)."""
    return {
        "kind": kind,
        "concurrency": concurrency,
        "requests": requests,
        "throughput_rps": requests / wall,
        "latencies": latencies,
        "statuses": statuses,
        "cpu_ms_per_request": cpu_s * 1000.0 / requests,
    }


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, every thread) of this process or of child `pid`."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def in_process(
    direct: Direct, images: list[bytes], concurrency: int, requests: int
) -> dict[str, Any]:
    """`concurrency` threads call `direct.answer` until `requests` are answered."""
    latencies: list[float] = []
    counter = itertools.count()
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter)
            if i >= requests:
                return
            t0 = time.perf_counter()
            direct.answer(images[i % len(images)])
            latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu, start = cpu_seconds(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return run(
        "in-process",
        concurrency,
        requests,
        time.perf_counter() - start,
        latencies,
        {200: requests},
        cpu_seconds() - cpu,
    )


async def http_load(
    url: str, images: list[bytes], concurrency: int, requests: int, server_pid: int
) -> dict[str, Any]:
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
                async with session.post(
                    url, data=images[i % len(images)], headers={"Content-Type": "image/jpeg"}
                ) as reply:
                    await reply.read()
                    statuses[reply.status] = statuses.get(reply.status, 0) + 1
                latencies.append(time.perf_counter() - t0)

        cpu = cpu_seconds() + cpu_seconds(server_pid)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        cpu = cpu_seconds() + cpu_seconds(server_pid) - cpu
    return run("http", concurrency, requests, wall, latencies, statuses, cpu)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
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


class Server:
    """`main.py serve` (kind "service") or the Flask baseline as a child process."""

    def __init__(self, kind: str, workers: int = 0, queue_size: int = 64) -> None:
        port = harness.free_port()
        if kind == "service":
            command = [
                sys.executable,
                "main.py",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--queue-size",
                str(queue_size),
            ]
            ready = f"http://127.0.0.1:{port}/v2/health/ready"
        else:
            command = [sys.executable, "-m", "tools.bench_http", "--flask-server", str(port)]
            ready = f"http://127.0.0.1:{port}/ready"
        env = {**os.environ, "LOG_LEVEL": "warning"}
        self.proc = subprocess.Popen(
            command,
            cwd=MODULE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(ready, self.proc)
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/score"

    def workers(self) -> int:
        """The service's worker count, as its model metadata reports it."""
        import urllib.request

        name = load(ServeSettings).model_name
        with urllib.request.urlopen(f"{self.base}/v2/models/{name}", timeout=5) as reply:
            return int(json.load(reply)["parameters"]["workers"])

    def load(self, images: list[bytes], concurrency: int, requests: int) -> dict[str, Any]:
        return asyncio.run(http_load(self.url, images, concurrency, requests, self.proc.pid))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def flask_server(port: int) -> None:
    """The seeds' design: Flask, one process, one request at a time, the same work."""
    from flask import Flask, Response, jsonify, request

    from textdetector.serve.errors import RequestError

    direct = Direct()
    app = Flask("seed-baseline")

    @app.post("/score")
    def score() -> Response | tuple[Response, int]:
        try:
            body = direct.answer(request.get_data())
        except RequestError as exc:
            return jsonify(error=exc.message), exc.status
        if not body:
            return Response(status=204)
        return Response(body, mimetype="application/json")

    @app.get("/ready")
    def ready() -> Response:
        return jsonify(ready=True)

    app.run("127.0.0.1", port, threaded=False)


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one mode and level: median throughput, percentiles over every request."""
    statuses: dict[int, int] = {}
    for r in runs:
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = [x for r in runs for x in r["latencies"]]
    return {
        "rounds_rps": [round(r["throughput_rps"], 3) for r in runs],
        "throughput_rps": statistics.median(r["throughput_rps"] for r in runs),
        "requests": len(latencies),
        "statuses": statuses,
        "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in runs),
        "failed": sum(n for s, n in statuses.items() if s not in OK_STATUSES),
        **percentiles(latencies),
    }


def alternate(
    measures: dict[str, Callable[[], dict[str, Any]]], rounds: int
) -> dict[str, dict[str, Any]]:
    """Run each measure once per round, interleaved, and merge each one's rounds."""
    return {name: merge(runs) for name, runs in harness.alternate(measures, rounds).items()}


def verdict(
    service: dict[int, dict[str, Any]], direct: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The headline: service at TARGET_CONCURRENCY against the best in-process level."""
    best_level = max(direct, key=lambda c: direct[c]["throughput_rps"])
    best = direct[best_level]["throughput_rps"]
    if TARGET_CONCURRENCY not in service:
        return {
            "status": "NOT MEASURED",
            "best_in_process_rps": best,
            "best_in_process_concurrency": best_level,
        }
    head = service[TARGET_CONCURRENCY]
    ratio = head["throughput_rps"] / best
    status = "MET" if ratio >= TARGET_RATIO else "MISSED"
    if head["failed"]:
        status = f"INVALID ({head['failed']} failed requests)"
    return {
        "status": status,
        "ratio": ratio,
        "target": TARGET_RATIO,
        "concurrency": TARGET_CONCURRENCY,
        "service_rps": head["throughput_rps"],
        "best_in_process_rps": best,
        "best_in_process_concurrency": best_level,
    }


def print_table(
    direct: dict[int, dict[str, Any]],
    service: dict[int, dict[str, Any]],
    flask: dict[int, dict[str, Any]],
    workers: int,
) -> None:
    best = max(r["throughput_rps"] for r in direct.values())
    rows = [("in-process (same models)", c, r) for c, r in direct.items()]
    rows += [(f"HTTP service, {workers} worker(s)", c, r) for c, r in service.items()]
    rows += [("Flask single worker", c, r) for c, r in flask.items()]
    print(
        f"\n{'mode':<32}{'conc':>5}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req':>11}{'x best in-proc':>16}{'x same conc':>12}{'failed':>7}"
    )
    for name, c, r in rows:
        print(
            f"{name:<32}{c:>5}{r['throughput_rps']:>8.2f}{r['p50_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['cpu_ms_per_request']:>11.0f}"
            f"{r['throughput_rps'] / best:>16.2f}"
            f"{r['throughput_rps'] / direct[c]['throughput_rps']:>12.2f}{r['failed']:>7}"
        )


def print_verdicts(
    head: dict[str, Any],
    service: dict[int, dict[str, Any]],
    direct: dict[int, dict[str, Any]],
    flask: dict[int, dict[str, Any]],
) -> None:
    if "ratio" in head:
        print(
            f"\ntarget: HTTP at concurrency {head['concurrency']} "
            f"{head['service_rps']:.2f} req/s = {head['ratio']:.2f} x best in-process "
            f"({head['best_in_process_rps']:.2f} req/s at concurrency "
            f"{head['best_in_process_concurrency']}); target >= {TARGET_RATIO}: "
            f"{head['status']}"
        )
    else:
        print(f"\ntarget: judged at concurrency {TARGET_CONCURRENCY}: {head['status']}")
    for c in service:
        http, local = service[c]["cpu_ms_per_request"], direct[c]["cpu_ms_per_request"]
        print(
            f"CPU per request at concurrency {c}: HTTP {http:.0f} ms (server + client), "
            f"in-process {local:.0f} ms ({http / local:.2f} x)"
        )
    for c in (c for c in flask if c >= 4):
        ratio = service[c]["throughput_rps"] / flask[c]["throughput_rps"]
        print(
            f"vs Flask at concurrency {c}: {ratio:.2f} x (>= {FLASK_TARGET:g}: "
            f"{'MET' if ratio >= FLASK_TARGET else 'MISSED'}; needs spare compute, README)"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated levels")
    parser.add_argument(
        "--requests",
        type=int,
        default=24,
        help="requests per level and round (at least 2 x concurrency)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternating in-process/HTTP rounds per level (median taken)",
    )
    parser.add_argument("--images", type=int, default=12, help="distinct demo frames used")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="service workers (SERVE_WORKERS; 0 = sized to the engine)",
    )
    parser.add_argument(
        "--no-flask", dest="flask", action="store_false", help="skip the Flask baseline"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="write results here")
    parser.add_argument("--flask-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.levels = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        parser.error(f"--concurrency: expected comma-separated integers, got {args.concurrency!r}")
    if min(args.levels) < 1 or args.rounds < 1 or args.requests < 1 or args.images < 1:
        parser.error("--concurrency, --rounds, --requests and --images must be >= 1")
    return args


def measure(args: argparse.Namespace, images: list[bytes]) -> dict[str, Any]:
    """Every level: in-process and the service alternating; then Flask if asked."""
    direct = Direct()
    for data in images[:2]:
        direct.answer(data)
    server = Server("service", args.workers)
    try:
        server.load(images, 2, 4)  # warm the connection path
        workers = server.workers()
        both = {
            c: alternate(
                {
                    "in_process": partial(in_process, direct, images, c, max(args.requests, 2 * c)),
                    "service": partial(server.load, images, c, max(args.requests, 2 * c)),
                },
                args.rounds,
            )
            for c in args.levels
        }
    finally:
        server.stop()
        direct.close()
    flask: dict[int, dict[str, Any]] = {}
    if args.flask:
        baseline = Server("flask")
        try:
            flask = {
                c: merge([baseline.load(images, c, max(args.requests, 2 * c))]) for c in args.levels
            }
        finally:
            baseline.stop()
    return {
        "in_process": {c: r["in_process"] for c, r in both.items()},
        "service": {c: r["service"] for c, r in both.items()},
        "flask": flask,
        "workers": workers,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.flask_server:
        flask_server(args.flask_server)
        return 0
    images = load_images(args.images)
    print(
        f"{len(images)} JPEG frames (720p) of the demo video; {args.requests} requests "
        f"per level and round, {args.rounds} round(s); {os.cpu_count()} CPU cores",
        flush=True,
    )
    results = measure(args, images)
    head = verdict(results["service"], results["in_process"])
    print_table(results["in_process"], results["service"], results["flask"], results["workers"])
    print_verdicts(head, results["service"], results["in_process"], results["flask"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "images": len(images),
                "requests_per_level": args.requests,
                "rounds": args.rounds,
                "cpu_count": os.cpu_count(),
                "workers": results["workers"],
                "verdict": head,
                **{
                    mode: {str(c): r for c, r in results[mode].items()}
                    for mode in ("in_process", "service", "flask")
                },
            },
            indent=1,
        )
    )
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
