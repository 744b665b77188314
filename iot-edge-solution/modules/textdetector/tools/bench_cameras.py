"""Cameras per box: how many fixed 720p cameras at 5 fps one module process holds.

One real MJPEG camera server (testing/mjpeg_camera.py) plays a fixed-camera clip (a
street sign with sensor noise and light flicker, tools/reuse_clips.py) at 720p and
--fps; N sources of the module (`python main.py`, reading on, its defaults otherwise)
each open their own connection to it. A trial holds when, over --seconds after the
warm-up, every source read at least 95 % of the camera's frames and the module dropped
none. For TEMPORAL_REUSE=off and for the default mode, N doubles until a trial fails,
then the largest N that holds is found between; the ratio is reported beside the
issue's target (>= 3x as many cameras). Writes bench-results/cameras.json and
cameras.md. Takes minutes: not part of the test suite.

Usage: python -m tools.bench_cameras [--fps 5] [--seconds 20] [--warmup 6]
                                     [--max-cameras 32] [--modes off,frame]
"""

from __future__ import annotations

import argparse
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


def trial(camera_url: str, mode: str, cameras: int, args: argparse.Namespace) -> Trial:
    """Start the module on `cameras` sources, warm up, then count over the window."""
    urls = camera_urls(camera_url, cameras)
    module = harness.test_harness("module_process").ModuleProcess(
        {
            "CAMERA_PATH": "|".join(urls),
            "TEMPORAL_REUSE": mode,
            "DET_LIMIT_SIDE_LEN": "960",  # the module's defaults, not the tests' quick ones
            "ORT_THREADS": "0",
            "SUMMARY_INTERVAL": "3600",
        }
    )
    try:
        ready = module.wait_for(
            lambda: (c := counters(module, urls)) is not None and all(r for r, _ in c.values()),
            120,
        )
        if not ready:
            return Trial(mode, cameras, False, 0.0, 0, "not every source delivered a frame")
        time.sleep(args.warmup)
        start, t0 = counters(module, urls), time.monotonic()
        time.sleep(args.seconds)
        end, t1 = counters(module, urls), time.monotonic()
    finally:
        module.stop()
    if start is None or end is None:
        return Trial(mode, cameras, False, 0.0, 0, "the module stopped answering")
    rates = [(end[u][0] - start[u][0]) / (t1 - t0) for u in urls]
    dropped = sum(end[u][1] - start[u][1] for u in urls)
    held = dropped == 0 and min(rates) >= HOLD * args.fps
    return Trial(mode, cameras, held, round(min(rates), 2), dropped)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, default=5.0, help="each camera's frame rate")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=6.0, help="seconds before the window")
    parser.add_argument("--max-cameras", type=int, default=32)
    parser.add_argument("--modes", default="off,frame", help="TEMPORAL_REUSE modes, off first")
    parser.add_argument("--out", type=Path, default=harness.RESULTS)
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    streams = harness.test_harness("stream_servers")
    with tempfile.TemporaryDirectory() as folder:
        clip = reuse_clips.write_clip("sign", Path(folder) / "sign.mp4", 20, 1280, 10)
        server = streams.mjpeg_server(clip, width=1280, fps=args.fps).start()
        try:
            print(f"cameras per box: 720p sign clip at {args.fps:g} fps, {harness.machine()}")
            found = {mode: most_cameras(server.url, mode, args) for mode in modes}
        finally:
            server.kill()
    return report(found, modes, args)


def report(found: dict[str, tuple[int, list]], modes: list[str], args) -> int:
    """Print and write the figures; the ratio of the last mode to the first."""
    counts = {mode: n for mode, (n, _) in found.items()}
    base, best = counts[modes[0]], counts[modes[-1]]
    ratio = best / base if base else None
    for mode in modes:
        print(f"  TEMPORAL_REUSE={mode}: {counts[mode]} cameras held")
    harness.target_line(f"cameras held, {modes[-1]} vs {modes[0]}", ratio, TARGET)
    figures = {
        "fps": args.fps,
        "seconds": args.seconds,
        "machine": harness.machine(),
        "cameras": counts,
        "ratio": ratio,
        "target": TARGET,
        "trials": [asdict(t) for _, ts in found.values() for t in ts],
    }
    harness.write_json(args.out / "cameras.json", figures, indent=2)
    verdict = f"{ratio:.2f}x {harness.verdict(ratio, TARGET)}" if ratio else "n/a MISSED"
    rows = [(m, counts[m], "") for m in modes[:-1]] + [(modes[-1], best, verdict)]
    header = ("TEMPORAL_REUSE", "cameras held", f"ratio (target >= {TARGET}x)")
    title = f"Fixed 720p cameras at {args.fps:g} fps one process holds ({harness.machine()})"
    table = harness.write_text(
        args.out / "cameras.md", f"{title}\n\n{harness.markdown(header, rows)}"
    )
    print(f"wrote {table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
