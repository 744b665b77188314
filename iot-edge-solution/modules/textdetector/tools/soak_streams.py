"""Soak with a live stream that keeps dying: RSS and thread count of the real module.

Starts a real test stream server (testing/stream_servers.py: mjpeg, mpegts or rtsp),
runs the module (`python main.py`) on it as a subprocess with its health endpoint, and
restarts the stream every --restart-every seconds (a crash: SIGKILL, --outage seconds
down, then back on the same address). Every --interval seconds it samples the module's
RSS and thread count (psutil) and its source health (frames, reconnects, state). At
the end it stops the module with SIGTERM and reports the RSS and thread drift after
warm-up, the frames and reconnects, and the exit code and time; writes
bench-results/soak_streams.json. Not part of the test suite (it takes minutes).

Usage: python -m tools.soak_streams [--seconds 600] [--restart-every 30] [--outage 3]
                                    [--interval 10] [--kind mjpeg]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psutil

from . import harness

MB = 1024 * 1024


KINDS = ("mjpeg", "mpegts", "rtsp")  # testing/stream_servers.py's FACTORIES


def sample(module, started: float, source_id: str) -> dict:
    """One sample of the module: RSS, threads, and its source's health."""
    proc = psutil.Process(module.process.pid)
    entry = module.source(source_id) or {}
    return {
        "t": round(time.monotonic() - started, 1),
        "rss_mb": round(proc.memory_info().rss / MB, 1),
        "threads": proc.num_threads(),
        "frames": entry.get("frames_read", 0),
        "reconnects": entry.get("reconnects", 0),
        "state": entry.get("state", "?"),
    }


def drift(samples: list[dict], key: str, warmup_s: float) -> dict:
    """First warm sample, min, max, last, and last - first."""
    warm = [s[key] for s in samples if s["t"] >= warmup_s] or [s[key] for s in samples]
    return {
        "first": warm[0],
        "min": min(warm),
        "max": max(warm),
        "last": warm[-1],
        "drift": round(warm[-1] - warm[0], 1),
    }


def run(args: argparse.Namespace) -> dict:
    streams = harness.test_harness("stream_servers")
    server = streams.FACTORIES[args.kind]().start()
    module = harness.test_harness("module_process").ModuleProcess(
        {
            "CAMERA_PATH": server.url,
            "RECONNECT_DELAY": "0.5",
            "RECONNECT_MAX_DELAY": "4",
            "SUMMARY_INTERVAL": "60",
        }
    )
    samples: list[dict] = []
    restarts = 0
    try:
        if not module.wait_for(lambda: module.frames(server.url) > 0, 120):
            raise RuntimeError(f"no frames from the module:\n{module.log()}")
        started = next_sample = time.monotonic()  # the clock starts with the first frame
        next_restart = started + args.restart_every
        while time.monotonic() - started < args.seconds:
            now = time.monotonic()
            if now >= next_sample:
                samples.append(sample(module, started, server.url))
                s = samples[-1]
                print(
                    f"t={s['t']:6.1f}s rss={s['rss_mb']:7.1f} MB threads={s['threads']:3d} "
                    f"frames={s['frames']:6d} reconnects={s['reconnects']:3d} "
                    f"{s['state']}",
                    flush=True,
                )
                next_sample += args.interval
            if now >= next_restart:
                server.kill()
                time.sleep(args.outage)
                server.start()
                restarts += 1
                next_restart += args.restart_every
            time.sleep(0.2)
        samples.append(sample(module, started, server.url))
        code = module.stop()
    finally:
        module.kill()
        server.close()
    return {
        "kind": args.kind,
        "seconds": args.seconds,
        "restarts": restarts,
        "exit_code": code,
        "exit_seconds": round(module.exit_seconds or 0.0, 2),
        "rss_mb": drift(samples, "rss_mb", args.warmup),
        "threads": drift(samples, "threads", args.warmup),
        "frames": samples[-1]["frames"],
        "reconnects": samples[-1]["reconnects"],
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="soak duration")
    parser.add_argument(
        "--restart-every", type=float, default=30.0, help="seconds between stream crashes"
    )
    parser.add_argument("--outage", type=float, default=3.0, help="seconds the stream is down")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds before the drift baseline"
    )
    parser.add_argument("--kind", choices=KINDS, default="mjpeg", help="test stream server")
    parser.add_argument("--out", default=str(harness.RESULTS / "soak_streams.json"))
    args = parser.parse_args(argv)
    if not harness.test_harness("stream_servers").AVAILABLE[args.kind]():
        print(
            f"the {args.kind} test server is not available here: run "
            "scripts/test-deps.d/40-streams.sh",
            file=sys.stderr,
        )
        return 2
    report = run(args)
    rss, threads = report["rss_mb"], report["threads"]
    print(
        f"{report['restarts']} stream restarts in {args.seconds:.0f} s; "
        f"{report['frames']} frames, {report['reconnects']} reconnects; "
        f"RSS {rss['first']} -> {rss['last']} MB (min {rss['min']}, max {rss['max']}, "
        f"drift {rss['drift']:+} MB); threads {threads['first']} -> {threads['last']} "
        f"(min {threads['min']}, max {threads['max']}); "
        f"SIGTERM exit {report['exit_code']} in {report['exit_seconds']} s"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if report["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
