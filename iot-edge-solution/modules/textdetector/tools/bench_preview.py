"""Live preview overhead: the run loop's fps with the preview off, on with no viewer and
on with one viewer, side by side, then RSS over time with a viewer connected.

The three contenders run the same demo clip (720p, from its first text frame) through the
real loop with detection and text reading (as `run`; engine, detection and reuse settings
from the environment), interleaved round by round. "no viewer" and "one viewer" add the
preview hub as a sink and serve it on a health server; the viewer is a separate process
(testing/mjpeg_client.py) reading /preview.mjpg as a browser would. Targets (issue 26):
no viewer >= 0.99x and one viewer >= 0.9x the fps with the preview off; the process's
CPU time per frame gives the same ratios in a form other jobs on the machine disturb
less, and one frame's draw + JPEG time bounds the watched cost. Then the demo
clip loops for --soak-seconds with a viewer connected while RSS is sampled every
--interval s (target: RSS after warm-up stays within 5 % of its first sample).

Usage: python -m tools.bench_preview [--frames 45] [--rounds 3] [--soak-seconds 60]
       [--interval 10] [--preview-fps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from textdetector.config import (
    DetectorSettings,
    EngineSettings,
    OutputSettings,
    PreviewSettings,
    RecognizerSettings,
    Settings,
    SourceSettings,
    TemporalSettings,
    load,
)
from textdetector.detector import TextDetector
from textdetector.pipeline import process
from textdetector.pipeline.health_http import HealthServer
from textdetector.pipeline.run import loop_options, open_recognizer
from textdetector.preview import Preview, PreviewAccess, PreviewHub
from textdetector.preview.hub import encode
from textdetector.recognizer import TextRecognizer
from textdetector.sources import open_source
from textdetector.sources.health import HealthRegistry

from . import harness
from .soak import Monitor, drift

NO_VIEWER_TARGET, ONE_VIEWER_TARGET, RSS_TARGET_PCT = 0.99, 0.9, 5.0


class Viewer:
    """A viewer process reading one preview stream until stopped."""

    def __init__(self, url: str, hub: PreviewHub) -> None:
        client = harness.test_harness("mjpeg_client").__file__
        self.process = subprocess.Popen(
            [sys.executable, str(client), url], stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while hub.viewers < 1:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"error: the viewer did not connect to {url}")
            time.sleep(0.05)

    def stop(self) -> int:
        """Stop it; the parts it read."""
        self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        return int(out.split()[-1]) if out.split() else 0


def settings_from_env(video: str) -> Settings:
    return Settings(
        engine=load(EngineSettings),
        detector=load(DetectorSettings),
        recognizer=load(RecognizerSettings),
        temporal=load(TemporalSettings),
        source=SourceSettings(camera_path=video),
        output=OutputSettings(quiet=True, summary_interval=3600.0),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=45, help="frames per pass")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--soak-seconds", type=float, default=60.0, help="0: no RSS check")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--preview-fps", type=float, default=5.0, help="PREVIEW_FPS")
    parser.add_argument("--out", default=str(harness.RESULTS / "preview.json"))
    args = parser.parse_args(argv)
    if args.frames < 5 or args.rounds < 1 or args.soak_seconds < 0 or args.interval <= 0:
        parser.error("expected --frames >= 5, --rounds >= 1, --soak-seconds >= 0, --interval > 0")
    harness.test_harness("mjpeg_client")  # one line and exit 2 when testing/ is not on the path
    with tempfile.TemporaryDirectory() as tmp:
        _, video = harness.clip(args.frames, args.rounds, "720p", Path(tmp))
        settings = settings_from_env(str(video))
        with (
            TextDetector.open(settings.engine, settings.detector, frames=True) as detector,
            open_recognizer(settings) as recognizer,
        ):
            options = loop_options(settings, detector.engine.name)
            hub = PreviewHub(args.preview_fps, 4)
            preview = Preview(hub, PreviewAccess.from_settings(PreviewSettings(), "127.0.0.1"))
            port = harness.free_port()
            with HealthServer(HealthRegistry(), "127.0.0.1", port, (), preview):
                url = f"http://127.0.0.1:{port}/preview.mjpg?source=0"

                def timed(sinks: list, viewer: bool = False) -> harness.Timed:
                    piped = harness.pipeline(
                        detector, video, args.frames, sinks, recognizer=recognizer, options=options
                    )
                    return with_viewer(piped, url, hub, encoded) if viewer else piped

                encoded: list[tuple[float, int]] = []  # (seconds, parts read) per viewer pass
                cpu: dict[str, list[float]] = {}  # process CPU seconds per pass
                runs = {
                    "preview off": cpu_timed("preview off", timed([]), cpu),
                    "no viewer": cpu_timed("no viewer", timed([hub]), cpu),
                    "one viewer": cpu_timed("one viewer", timed([hub], viewer=True), cpu),
                }
                table = harness.measure(runs, args.frames, args.rounds)
                report = overhead(table, encoded, args)
                report["cpu_ms_per_frame"] = cpu_figures(cpu, args.frames)
                report["costs"] = encode_cost(hub, args.preview_fps)
                if args.soak_seconds:
                    report["rss"] = soak(settings, detector, recognizer, hub, url, args)
    load_now = os.getloadavg()
    report["load"] = [round(x, 2) for x in load_now]
    print(f"  load average: {load_now[0]:.2f} {load_now[1]:.2f} {load_now[2]:.2f}")
    print(f"wrote {harness.write_json(Path(args.out), report)}")
    return 0


def with_viewer(
    piped: harness.Timed, url: str, hub: PreviewHub, encoded: list[tuple[float, int]]
) -> harness.Timed:
    """`piped` with a viewer process connected for the pass (its start-up not timed)."""

    def run() -> float:
        viewer = Viewer(url, hub)
        try:
            seconds = piped()
        finally:
            parts = viewer.stop()
        encoded.append((seconds, parts))
        return seconds

    return run


def cpu_timed(name: str, run: harness.Timed, cpu: dict[str, list[float]]) -> harness.Timed:
    """`run`, also recording the CPU seconds this process spent in it (all threads:
    the loop, the engine's and the preview's; the viewer process is not counted)."""

    def measured() -> float:
        start = time.process_time()
        seconds = run()
        cpu.setdefault(name, []).append(time.process_time() - start)
        return seconds

    return measured


def cpu_figures(cpu: dict[str, list[float]], frames: int) -> dict[str, float]:
    """Median CPU ms per frame of each contender (warm-up pass left out), and the fps
    ratio it implies on a CPU-bound machine, beside the targets: steadier than wall-clock
    fps when other jobs share the cores."""
    per_frame = {n: statistics.median(v[1:] or v) * 1000 / frames for n, v in cpu.items()}
    print(
        "  CPU ms per frame (this process): "
        + ", ".join(f"{n} {ms:.0f}" for n, ms in per_frame.items())
    )
    base = per_frame.get("preview off")
    for name, target in (("no viewer", NO_VIEWER_TARGET), ("one viewer", ONE_VIEWER_TARGET)):
        if base and name in per_frame:
            harness.target_line(
                f"CPU-implied fps ratio {name}/preview off", base / per_frame[name], target
            )
    return {n: round(ms, 1) for n, ms in per_frame.items()}


def overhead(table: dict, encoded: list[tuple[float, int]], args: argparse.Namespace) -> dict:
    harness.fps_table(
        f"run loop fps, demo 720p, {args.frames} frames x {args.rounds} rounds "
        f"({harness.machine()})",
        table,
    )
    ratios = harness.ratios(
        table,
        [
            ("no viewer", "preview off", NO_VIEWER_TARGET),
            ("one viewer", "preview off", ONE_VIEWER_TARGET),
        ],
    )
    timed = encoded[1:]  # the first is the warm-up pass
    rate = sum(p for _, p in timed) / sum(s for s, _ in timed) if timed else 0.0
    print(f"  the viewer received {rate:.1f} frames/s (PREVIEW_FPS={args.preview_fps:g})")
    return {"fps": table, "ratios": ratios, "viewer_frames_per_s": round(rate, 2)}


def encode_cost(hub: PreviewHub, fps: float, count: int = 20) -> dict[str, float]:
    """Median ms to draw and JPEG-encode the clip's last result (and its share of a core
    at `fps`), and the µs the loop spends per frame when nobody watches: figures that
    hold on a busy machine where fps ratios do not."""
    feed = hub.feed(0)
    if feed is None or feed.latest is None:
        return {}
    result = feed.latest
    times = []
    for _ in range(count):
        start = time.perf_counter()
        encode(hub.drawer(result))
        times.append((time.perf_counter() - start) * 1000)
    ms = statistics.median(times)
    boxes = len(result.detections)
    calls = 100_000
    start = time.perf_counter()
    for _ in range(calls):
        hub.write(result)  # what the loop does per frame with nobody watching
    write_us = (time.perf_counter() - start) / calls * 1e6
    print(f"  unwatched cost per frame (the hub keeping a reference): {write_us:.2f} µs")
    print(
        f"  drawing + JPEG of one 720p frame ({boxes} boxes): {ms:.1f} ms median; "
        f"watched at {fps:g} fps: {ms * fps / 10:.1f} % of one core"
    )
    return {"draw_jpeg_ms": round(ms, 2), "unwatched_write_us": round(write_us, 3)}


def soak(
    settings: Settings,
    detector: TextDetector,
    recognizer: TextRecognizer | None,
    hub: PreviewHub,
    url: str,
    args: argparse.Namespace,
) -> dict:
    """The clip looped for --soak-seconds with a viewer connected, RSS sampled."""
    print(f"RSS with a viewer connected, {args.soak_seconds:g} s of the looped clip:")
    stop = threading.Event()
    monitor = Monitor(args.interval, 30, args.soak_seconds, stop)
    source = open_source(replace(settings.source, loop=True))  # source 0 of the hub
    viewer = Viewer(url, hub)
    try:
        process(
            detector,
            [source],
            [monitor, hub],
            options=loop_options(settings, detector.engine.name),
            stop=stop,
            recognizer=recognizer,
        )
    finally:
        parts = viewer.stop()
    rss = drift(monitor.samples)
    seconds = monitor.samples[-1]["t"]
    worst = None if rss["max_pct"] is None else max(abs(rss["min_pct"]), abs(rss["max_pct"]))
    print(
        f"  {monitor.frames} frames in {seconds:.0f} s; the viewer read {parts} frames; RSS "
        f"after warm-up {rss['min_pct']}% .. {rss['max_pct']}% of {rss['baseline_mb']} MB, "
        f"peak {rss['peak_rss_mb']} MB (target: within {RSS_TARGET_PCT:g} %) "
        f"{harness.verdict(worst, RSS_TARGET_PCT, at_most=True)}"
    )
    return {**rss, "seconds": seconds, "viewer_frames": parts, "samples": monitor.samples}


if __name__ == "__main__":
    sys.exit(main())
