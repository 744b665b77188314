"""Cameras per box: how many fixed 720p cameras at 5 fps one module process holds.

One real MJPEG camera server (testing/mjpeg_camera.py) plays a fixed-camera clip (a
street sign with sensor noise and light flicker, tools/reuse_clips.py) at 720p and
--fps; N sources of the module (`python main.py`, reading on, its defaults otherwise)
each open their own connection to it. A trial holds when, over --seconds after the
warm-up, every source read at least 95 % of the camera's frames and the module dropped
none. For TEMPORAL_REUSE=off and for the default mode, N doubles until a trial fails,
then the largest N that holds is found between; the ratio is reported beside the
issue's target (>= 3x as many cameras). Beside the count, each mode's capacity in
cameras' worth of frames: the most frames per second it processed (frames inferred
plus frames reused, all sources, from /metrics) in any trial, over the camera's rate.
A mode that holds no camera still has a capacity (0.8: four frames of five), so the
modes compare even when the count before is 0. Writes bench-results/cameras.json and
cameras.md (with --precision P, which every trial of both modes runs: cameras-P.*).
Takes minutes: not part of the test suite.

Usage: python -m tools.bench_cameras [--fps 5] [--seconds 20] [--warmup 6]
                                     [--max-cameras 32] [--modes off,region]
                                     [--precision auto]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import harness, reuse_clips

TARGET = 3.0  # the "at least 3x as many cameras"
HOLD = 0.95  # a source must read this share of the camera's frames


@dataclass
class Trial:
    """One module process with `cameras` sources for `seconds`: did it keep up?"""

    mode: str
    cameras: int
    held: bool
    worst_fps: float  # the slowest source's read rate in the window
    dropped: int  # frames the module dropped in the window, all sources
    why: str = ""
    processed_fps: float = 0.0  # frames inferred or reused per second, all sources


def camera_urls(base: str, count: int) -> list[str]:
    """`count` distinct URLs of one camera (the server ignores the query)."""
    return [f"{base}?camera={n}" for n in range(count)]


def counters(module, urls: list[str]) -> dict[str, tuple[int, int]] | None:
    """Per source: frames read and frames dropped so far; None while not all report."""
    doc = module.health()
    if doc is None:
        return None
    sources = doc.get("sources", {})
    if not all(url in sources for url in urls):
        return None
    return {u: (sources[u]["frames_read"], sources[u]["frames_dropped"]) for u in urls}


def frames_done(module, urls: list[str]) -> int | None:
    """Frames inferred plus frames reused so far, all `urls` (from /metrics); None when
    the endpoint does not answer."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        status, body = module.get("/metrics")
    except OSError:
        return None
    if status != 200:
        return None
    wanted = {"textdetector_source_frames_inferred", "textdetector_source_frames_reused"}
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(body)
            if family.name in wanted
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels.get("source") in urls
        )
    )


def trial(camera_url: str, mode: str, cameras: int, args: argparse.Namespace) -> Trial:
    """Start the module on `cameras` sources, warm up, then count over the window."""
    urls = camera_urls(camera_url, cameras)
    env = {"CAMERA_PATH": "|".join(urls), "TEMPORAL_REUSE": mode, "SUMMARY_INTERVAL": "3600"}
    if args.precision:  # else the module's own PRECISION
        env["PRECISION"] = args.precision
    module = harness.test_harness("module_process").ModuleProcess(
        env,
        quick=False,  # the module's own defaults, not the tests' quick detector
    )
    try:
        ready = module.wait_for(
            lambda: (c := counters(module, urls)) is not None and all(r for r, _ in c.values()),
            120,
        )
        if not ready:
            return Trial(mode, cameras, False, 0.0, 0, "not every source delivered a frame")
        time.sleep(args.warmup)
        start, done0, t0 = counters(module, urls), frames_done(module, urls), time.monotonic()
        time.sleep(args.seconds)
        end, done1, t1 = counters(module, urls), frames_done(module, urls), time.monotonic()
    finally:
        module.stop()
    if start is None or end is None:
        return Trial(mode, cameras, False, 0.0, 0, "the module stopped answering")
    rates = [(end[u][0] - start[u][0]) / (t1 - t0) for u in urls]
    dropped = sum(end[u][1] - start[u][1] for u in urls)
    held = dropped == 0 and min(rates) >= HOLD * args.fps
    processed = (done1 - done0) / (t1 - t0) if done0 is not None and done1 is not None else 0.0
    return Trial(mode, cameras, held, round(min(rates), 2), dropped, "", round(processed, 2))


def precision_said(asked: str) -> str:
    """The PRECISION the trials ran: the default's name, or for `auto` the precision its
    cached gate verdict chose on this CPU (tuning/select.py), as the module logged it."""
    if not asked:
        return "fp32"
    if asked != "auto":
        return asked
    from textdetector.tuning.gate_cache import last_chosen
    from textdetector.tuning.select import GATE_CACHE

    chosen = last_chosen(GATE_CACHE)  # cached by the trials' module processes' gate
    return f"auto: {chosen}" if chosen else "auto"


def capacity(trials: list[Trial], fps: float) -> float:
    """Cameras' worth of frames a mode processed at best: the highest processed rate of
    its trials over one camera's rate (never more than the trial's own cameras)."""
    best = max((min(t.processed_fps, t.cameras * fps) for t in trials), default=0.0)
    return round(best / fps, 2)


def most_cameras(camera_url: str, mode: str, args: argparse.Namespace) -> tuple[int, list]:
    """The largest N that holds: double until a trial fails, then bisect."""
    trials: list[Trial] = []

    def holds(n: int) -> bool:
        result = trial(camera_url, mode, n, args)
        trials.append(result)
        print(
            f"  {mode:<6} {n:>3} cameras: slowest source {result.worst_fps:5.2f} fps, "
            f"{result.dropped} dropped -> {'holds' if result.held else 'falls behind'}"
            + (f" ({result.why})" if result.why else ""),
            flush=True,
        )
        return result.held

    good, bad = 0, None
    n = 1
    while n <= args.max_cameras and holds(n):
        good, n = n, n * 2
    bad = min(n, args.max_cameras + 1)
    while bad - good > 1:
        middle = (good + bad) // 2
        good, bad = (middle, bad) if holds(middle) else (good, middle)
    return good, trials


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=5.0, help="each camera's frame rate")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds before the window")
    parser.add_argument("--max-cameras", type=int, default=32)
    parser.add_argument(
        "--modes", default="off,region", help="TEMPORAL_REUSE modes, off first, the default last"
    )
    parser.add_argument(
        "--precision",
        default=os.environ.get("PRECISION", ""),
        help="PRECISION for every trial (both modes alike; default: $PRECISION, else the "
        "module's own, fp32); the figures go to cameras-<precision>.json and .md",
    )
    parser.add_argument("--out", type=Path, default=harness.RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    streams = harness.test_harness("stream_servers")
    with tempfile.TemporaryDirectory() as folder:
        clip = reuse_clips.write_clip("sign", Path(folder) / "sign.mp4", 20, 1280, 10)
        server = streams.mjpeg_server(clip, width=1280, fps=args.fps).start()
        try:
            print(
                f"cameras per box: 720p sign clip at {args.fps:g} fps, {harness.machine()}, "
                f"PRECISION={args.precision or 'fp32 (the default)'}"
            )
            found = {mode: most_cameras(server.url, mode, args) for mode in modes}
        finally:
            server.close()
    return report(found, modes, args)


def report(found: dict[str, tuple[int, list]], modes: list[str], args) -> int:
    """Print and write the figures; the ratio of the last mode to the first."""
    counts = {mode: n for mode, (n, _) in found.items()}
    worth = {mode: capacity(trials, args.fps) for mode, (_, trials) in found.items()}
    base, best = counts[modes[0]], counts[modes[-1]]
    ratio = best / base if base else None
    worth_ratio = worth[modes[-1]] / worth[modes[0]] if worth[modes[0]] else None
    for mode in modes:
        print(
            f"  TEMPORAL_REUSE={mode}: {counts[mode]} cameras held, "
            f"{worth[mode]:.2f} cameras' worth of frames processed"
        )
    harness.target_line(f"cameras held, {modes[-1]} vs {modes[0]}", ratio, TARGET)
    print(
        f"  cameras' worth of frames, {modes[-1]} vs {modes[0]}: "
        + (f"{worth_ratio:.2f}x" if worth_ratio else "n/a")
        + " (the count is the target; this says how far apart the modes are)"
    )
    precision = precision_said(args.precision)
    stem = f"cameras-{args.precision}" if args.precision else "cameras"
    figures = {
        "fps": args.fps,
        "precision": precision,
        "seconds": args.seconds,
        "machine": harness.machine(),
        "cameras": counts,
        "ratio": ratio,
        "target": TARGET,
        "capacity": worth,
        "capacity_ratio": None if worth_ratio is None else round(worth_ratio, 2),
        "trials": [asdict(t) for _, ts in found.values() for t in ts],
    }
    harness.write_json(args.out / f"{stem}.json", figures, indent=2)
    verdict = f"{ratio:.2f}x {harness.verdict(ratio, TARGET)}" if ratio else "n/a MISSED"
    rows = [(m, counts[m], f"{worth[m]:.2f}", "") for m in modes[:-1]]
    last = f"{worth[modes[-1]]:.2f}" + (f" ({worth_ratio:.2f}x)" if worth_ratio else "")
    rows.append((modes[-1], best, last, verdict))
    header = (
        "TEMPORAL_REUSE",
        "cameras held",
        "cameras' worth of frames processed",
        f"cameras held, ratio (target >= {TARGET}x)",
    )
    title = (
        f"Fixed 720p cameras at {args.fps:g} fps one process holds ({harness.machine()}; "
        f"PRECISION={precision})"
    )
    table = harness.write_text(
        args.out / f"{stem}.md", f"{title}\n\n{harness.markdown(header, rows)}"
    )
    print(f"wrote {table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
