"""Drawing benchmark: what `textdetector.drawing.annotate` costs on a 720p frame with ~30
labels, beside a whole-frame Pillow drawing and the mp4v encode of `--save-video`.

Contenders, interleaved round by round on the same demo frames (ms per frame):
  annotate, labels drawn before   the labels' patches come from the cache (a video)
  annotate, same texts, new scores  a video: readings repeat, their scores change
  annotate, new labels            every label new (its patch rendered by Pillow)
  whole-frame Pillow              the frame converted to a Pillow image and back
  mp4v encode                     OpenCV's writer, one annotated frame

Usage: python -m tools.bench_drawing [--frames 20] [--rounds 5] [--lines 30]
Writes bench-results/drawing.json.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from textdetector.drawing import annotate, font_size, line_width
from textdetector.drawing.font import label_font
from textdetector.drawing.labels import label
from textdetector.results import Detections

from . import harness

TARGET_CACHED_MS = 5.0  # "a few ms" for a 720p frame with ~30 lines (labels seen before)
TARGET_NEW_MS = 10.0
WORDS = ("NO PARKING", "出口 EXIT", "Loading dock 7", "MSCU1234565", "限速 25 km/h", "Gate B")


def detections(lines: int, size: tuple[int, int], tag: str = "", score: float = 0.95) -> Detections:
    """`lines` boxes in three columns with readings in Latin and CJK (`tag` makes them new)
    read with confidence `score`."""
    width, height = size
    rows = -(-lines // 3)
    step = (height - 40) // max(1, rows)
    boxes = [
        [[x, y], [x + width // 4, y], [x + width // 4, y + step // 2], [x, y + step // 2]]
        for i in range(lines)
        for x, y in [(30 + (i % 3) * width // 3, 40 + (i // 3) * step)]
    ]
    texts = tuple(f"{WORDS[i % len(WORDS)]} {i}{tag}" for i in range(lines))  # all distinct
    found = Detections(
        np.array(boxes, np.float32), np.full(lines, 0.9, np.float32), (height, width)
    )
    return found.with_texts(texts, np.full(lines, score, np.float32))


def whole_frame_pillow(image: np.ndarray, found: Detections) -> np.ndarray:
    """The other way: boxes by OpenCV, then the frame through Pillow for the labels."""
    canvas = image.copy()
    size, thickness = font_size(canvas.shape), line_width(canvas.shape)
    for quad in found.boxes:
        points = np.rint(quad).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], True, (0, 200, 0), thickness, cv2.LINE_AA)
    picture = Image.fromarray(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
    draw, font = ImageDraw.Draw(picture), label_font(size)
    for i, quad in enumerate(found.boxes):
        text, _ = label(found, i)
        x, y = int(quad[:, 0].min()), max(0, int(quad[:, 1].min()) - size - 4)
        draw.rectangle(draw.textbbox((x, y), text, font=font), fill=(0, 200, 0))
        draw.text((x, y), text, font=font, fill=(0, 0, 0))
    return cv2.cvtColor(np.asarray(picture), cv2.COLOR_RGB2BGR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="demo frames per pass")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--lines", type=int, default=30, help="labelled boxes per frame")
    parser.add_argument("--out", type=Path, default=harness.RESULTS / "drawing.json")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.rounds < 1 or args.lines < 1:
        parser.error("--frames, --rounds and --lines must be at least 1")
    frames = harness.demo_frames(args.frames, harness.SIZES["720p"])
    if not frames:
        print("error: no demo frames: run `make setup`", file=sys.stderr)
        return 2
    size = harness.SIZES["720p"]
    seen = detections(args.lines, size)
    fresh = itertools.count()
    annotated = annotate(frames[0], seen)
    with tempfile.TemporaryDirectory() as folder:
        writer = cv2.VideoWriter(
            str(Path(folder) / "bench.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), 15, size
        )
        runs = {
            "annotate, labels drawn before": harness.each_frame(
                lambda f: annotate(f, seen), frames
            ),
            "annotate, same texts, new scores": harness.each_frame(
                lambda f: annotate(
                    f, detections(args.lines, size, "", 0.5 + next(fresh) % 50 / 100)
                ),
                frames,
            ),
            "annotate, new labels": harness.each_frame(
                lambda f: annotate(f, detections(args.lines, size, f" {next(fresh)}")), frames
            ),
            "whole-frame Pillow": harness.each_frame(
                lambda f: whole_frame_pillow(f, detections(args.lines, size, f" {next(fresh)}")),
                frames,
            ),
            "mp4v encode": harness.each_frame(lambda f: writer.write(annotated), frames),
        }
        measured = harness.measure(runs, len(frames), args.rounds)
        writer.release()
    ms = {name: round(1000 / row["fps"], 2) for name, row in measured.items()}
    heading = f"720p, {args.lines} labels, {len(frames)} frames x {args.rounds} rounds"
    print(f"{heading}; {harness.machine()}")
    for name, value in ms.items():
        print(f"  {name:<32}{value:>8.2f} ms per frame")
    cached, new = ms["annotate, labels drawn before"], ms["annotate, new labels"]
    targets = {}
    for key, value, target in (
        ("cached_ms", cached, TARGET_CACHED_MS),
        ("new_ms", new, TARGET_NEW_MS),
    ):
        verdict = harness.verdict(value, target, at_most=True)
        targets[key] = {"ms": value, "target": target, "verdict": verdict}
        print(f"  {key}: {value:.2f} ms (target <= {target:g} ms) {verdict}")
    figures = {
        "size": "720p",
        "lines": args.lines,
        "ms_per_frame": ms,
        "targets": targets,
        "fps_per_round": {name: row["fps_all"] for name, row in measured.items()},
    }
    print(f"wrote {harness.write_json(args.out, figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
