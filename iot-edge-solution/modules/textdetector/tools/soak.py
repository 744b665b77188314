"""Soak run: the real pipeline on a looped video, fps and RSS logged over time.

Runs detection and text reading (READ_TEXT, on by default, as in `run`) with the run
command's sinks (quiet console) plus a monitor that samples fps and the process RSS every
--interval seconds. At the end it reports the RSS drift
after warm-up (lowest and highest sample against the first post-warm-up sample, in %)
and the peak RSS; writes bench-results/soak.json. Engine, detection and recognition
settings come from the environment as for `run` (e.g. DET_LIMIT_SIDE_LEN=320 for a
quicker soak, READ_TEXT=false for detection only).

Usage: python -m tools.soak [--frames 10000 | --seconds 600] [--interval 10] [--warmup 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from textdetector.config import (
    DEFAULT_VIDEO,
    DetectorSettings,
    EngineSettings,
    OutputSettings,
    RecognizerSettings,
    Settings,
    SourceSettings,
    TemporalSettings,
    load,
)
from textdetector.detector import TextDetector
from textdetector.pipeline import LoopOptions, process
from textdetector.pipeline.run import open_recognizer
from textdetector.sinks import build_sinks
from textdetector.sources import open_source
from textdetector.temporal import ReusePolicy

from . import harness, reuse_clips

MB = 1024 * 1024


class Monitor:
    """A sink sampling fps and RSS every `interval_s`; sets `stop` after `seconds`."""

    def __init__(
        self, interval_s: float, warmup_frames: int, seconds: float, stop: threading.Event
    ) -> None:
        self.interval_s, self.warmup_frames, self.seconds = interval_s, warmup_frames, seconds
        self.stop = stop
        self.process = psutil.Process()
        self.samples: list[dict] = []
        self.frames = 0
        self.regions_read = 0  # regions with a reading (0 when READ_TEXT is off)
        self.reused = 0  # frames that carried an earlier frame's result (TEMPORAL_REUSE)

    def __enter__(self) -> Monitor:
        self._start = self._last = time.perf_counter()
        self._frames_at_last = 0
        self._sample(self._start)
        return self

    def __exit__(self, *exc: object) -> None:
        self._sample(time.perf_counter())

    def write(self, result) -> None:
        self.frames += 1
        self.reused += bool(getattr(result, "reused", False))
        self.regions_read += sum(bool(text) for text in result.detections.texts or ())
        now = time.perf_counter()
        if self.frames == self.warmup_frames or now - self._last >= self.interval_s:
            self._sample(now)
        if self.seconds and now - self._start >= self.seconds:
            self.stop.set()

    def _sample(self, now: float) -> None:
        elapsed = now - self._last
        fps = (self.frames - self._frames_at_last) / elapsed if elapsed > 0 else 0.0
        sample = {
            "t": round(now - self._start, 1),
            "frames": self.frames,
            "fps": round(fps, 2),
            "rss_mb": round(self.process.memory_info().rss / MB, 1),
            "warm": self.frames >= self.warmup_frames,
        }
        self.samples.append(sample)
        self._last, self._frames_at_last = now, self.frames
        print(
            f"t={sample['t']:7.1f}s frames={self.frames:7d} fps={sample['fps']:6.2f} "
            f"rss={sample['rss_mb']:8.1f} MB",
            flush=True,
        )


def drift(samples: list[dict]) -> dict:
    """RSS drift after warm-up: min/max against the first warm sample, in %; peak RSS."""
    warm = [s["rss_mb"] for s in samples if s["warm"]]
    peak = max(s["rss_mb"] for s in samples)
    if len(warm) < 2:
        return {
            "baseline_mb": warm[0] if warm else None,
            "min_pct": None,
            "max_pct": None,
            "peak_rss_mb": peak,
        }
    base = warm[0]
    return {
        "baseline_mb": base,
        "min_pct": round((min(warm) - base) / base * 100, 2),
        "max_pct": round((max(warm) - base) / base * 100, 2),
        "final_pct": round((warm[-1] - base) / base * 100, 2),
        "peak_rss_mb": peak,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000, help="stop after N frames (0: none)")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after T seconds (0: none)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=int, default=100, help="frames before the baseline")
    parser.add_argument("--video", default=str(DEFAULT_VIDEO), help="video file, looped")
    parser.add_argument(
        "--clip", choices=reuse_clips.SCENES, default=None, help="a fixed-camera clip instead"
    )
    parser.add_argument("--out", default=str(harness.RESULTS / "soak.json"))
    args = parser.parse_args(argv)
    if args.frames <= 0 and args.seconds <= 0:
        parser.error("give --frames or --seconds")
    if args.clip:
        with tempfile.TemporaryDirectory() as folder:
            clip = reuse_clips.write_clip(args.clip, Path(folder) / f"{args.clip}.mp4", 30)
            return soak(args, str(clip))
    return soak(args, args.video)


def soak(args: argparse.Namespace, video: str) -> int:
    """The soak itself on `video` (looped), with the settings from the environment."""
    if not Path(video).is_file():
        print(f"video not found: {video} (run `make setup`)", file=sys.stderr)
        return 2
    settings = Settings(
        engine=load(EngineSettings),
        detector=load(DetectorSettings),
        recognizer=load(RecognizerSettings),
        source=SourceSettings(camera_path=video, loop=True),
        output=OutputSettings(quiet=True, summary_interval=3600.0),
        temporal=load(TemporalSettings),
    )
    reuse = ReusePolicy(settings.temporal.temporal_reuse, settings.temporal.reuse_max_age)
    stop = threading.Event()
    monitor = Monitor(args.interval, args.warmup, args.seconds, stop)
    with (
        TextDetector.open(settings.engine, settings.detector, frames=True) as detector,
        open_recognizer(settings) as recognizer,
    ):
        sinks = [*build_sinks(settings), monitor]
        summary = process(
            detector,
            [open_source(settings.source)],
            sinks,
            options=LoopOptions(
                max_frames=args.frames, read_ahead=settings.recognizer.rec_frames, reuse=reuse
            ),
            stop=stop,
            recognizer=recognizer,
        )
    elapsed = monitor.samples[-1]["t"]
    report = {
        "frames": summary.frames,
        "seconds": elapsed,
        "fps": round(summary.frames / elapsed, 2) if elapsed else 0.0,
        "warmup_frames": args.warmup,
        "video": args.clip or Path(video).name,
        "temporal_reuse": reuse.mode,
        "frames_reused": monitor.reused,
        "read_text": recognizer is not None,
        "regions_read": monitor.regions_read,
        "rss": drift(monitor.samples),
        "samples": monitor.samples,
    }
    rss = report["rss"]
    print(
        f"{summary.frames} frames in {elapsed:.0f} s ({report['fps']} fps), "
        f"{monitor.regions_read} regions read, {monitor.reused} frames reused "
        f"(TEMPORAL_REUSE={reuse.mode}); RSS after "
        f"warm-up {rss['min_pct']}% .. {rss['max_pct']}% of {rss['baseline_mb']} MB; "
        f"peak {rss['peak_rss_mb']} MB"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
