"""End to end on the demo video, whole processes side by side: this module against
RapidOCR 3.10.0 at its defaults.

Each round runs both commands in turn (alternating which goes first), each a fresh
process from start-up to exit: `main.py --quiet` (the default: detect and read every
frame) and a RapidOCR 3.10 loop reading every frame of the same file. It prints each
side's median seconds and the ratio per round, with the target (>= 2x) beside it.

Usage: python -m tools.bench_e2e [--rounds N] [--video FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import harness

MODULE_DIR = harness.MODULE_DIR
VIDEO = MODULE_DIR / "local_data" / "demo_video.mp4"
TARGET = 2.0  # ours at least this many times faster than RapidOCR 3.10 defaults


def rapidocr_video(video: Path) -> int:
    """Read every frame of `video` with RapidOCR 3.10 defaults; prints frames and lines."""
    import cv2

    read = harness.rapidocr3()
    capture = cv2.VideoCapture(str(video))
    frames = lines = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames += 1
        lines += len(read(frame))
    print(f"rapidocr3: {frames} frames, {lines} lines")
    return 0 if frames else 4


def timed(command: list[str]) -> float:
    """Seconds for one whole process; raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=MODULE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(command[:3])} failed ({done.returncode}): {tail}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument(
        "--json",
        type=Path,
        default=harness.RESULTS / "e2e.json",
        help="where the figures go (default: bench-results/e2e.json)",
    )
    parser.add_argument("--rapidocr-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rapidocr_worker:
        return rapidocr_video(args.video)
    commands = {
        "ours": [sys.executable, "main.py", "--quiet", "--camera-path", str(args.video)],
        "rapidocr3": [
            *(sys.executable, "-m", "tools.bench_e2e", "--rapidocr-worker"),
            *("--video", str(args.video)),
        ],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    ratios = []
    for round_ in range(args.rounds):
        order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
        for name in order:
            times[name].append(timed(commands[name]))
        ratios.append(times["rapidocr3"][-1] / times["ours"][-1])
        print(
            f"round {round_ + 1}: ours {times['ours'][-1]:.1f} s, RapidOCR 3.10 "
            f"{times['rapidocr3'][-1]:.1f} s, ratio {ratios[-1]:.2f}x",
            flush=True,
        )
    ratio = statistics.median(ratios)
    verdict = harness.verdict(ratio, TARGET)
    print(
        f"demo video end to end: ours {statistics.median(times['ours']):.1f} s, "
        f"RapidOCR 3.10 defaults {statistics.median(times['rapidocr3']):.1f} s: "
        f"{ratio:.2f}x faster (target >= {TARGET:.1f}x): {verdict}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"seconds": times, "ratios": ratios, "ratio": ratio, "target": TARGET}, indent=1
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
