"""Render the deterministic demo video and its per-frame ground truth.

1280x720, 15 fps, 12 s: lines of real TrueType text (DejaVu, shipped with matplotlib)
of varied sizes moving over a busy, panning background; the first second and 6.0-7.0 s
carry no text. Writes demo_video.mp4 and demo_video.gt.jsonl (one JSON object per frame:
{"frame": i, "lines": [{"text": ..., "box": [x0, y0, x1, y1]}]}, ink bounds in pixels).

Usage: python tools/make_demo_video.py [--out DIR] [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MODULE_DIR = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, FPS, SECONDS = 1280, 720, 15, 12
FRAMES = FPS * SECONDS
NO_TEXT = [(0, FPS), (6 * FPS, 7 * FPS)]  # frame ranges [start, end) without text
VIDEO_NAME, TRUTH_NAME = "demo_video.mp4", "demo_video.gt.jsonl"


@dataclass(frozen=True)
class Line:
    """A text line: its font, size, colour, first/last frame, start point and velocity."""

    text: str
    font: str
    size: int
    color: tuple[int, int, int]  # BGR
    start: int
    end: int
    origin: tuple[float, float]
    velocity: tuple[float, float]  # pixels per frame


LINES = [
    Line("EDGE VISION AI", "DejaVuSans-Bold.ttf", 72, (20, 20, 20), 15, 180, (90, 60), (2.0, 0.0)),
    Line(
        "Loading dock 7 - Gate B",
        "DejaVuSerif.ttf",
        44,
        (240, 240, 240),
        20,
        180,
        (640, 230),
        (-2.5, 0.4),
    ),
    Line(
        "Speed limit 25 km/h", "DejaVuSans.ttf", 36, (30, 30, 160), 30, 150, (120, 360), (1.5, -0.3)
    ),
    Line(
        "Serial:4821-XK", "DejaVuSansMono.ttf", 30, (10, 60, 10), 15, 180, (760, 470), (-1.0, 0.5)
    ),
    Line(
        "Keep clear of moving parts",
        "DejaVuSans.ttf",
        28,
        (250, 250, 250),
        45,
        180,
        (200, 600),
        (1.2, -0.2),
    ),
    Line(
        "Inspection due 2026-12-01",
        "DejaVuSerif-Bold.ttf",
        24,
        (0, 0, 0),
        60,
        180,
        (820, 120),
        (-0.8, 0.6),
    ),
]


def font_path(name: str) -> Path:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if not path.is_file():
        raise FileNotFoundError(f"font {name} not found in matplotlib's data")
    return path


def render_sprite(line: Line) -> np.ndarray:
    """The line's ink as a float32 alpha mask, cropped tight."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path(line.font)), line.size)
    left, top, right, bottom = (int(v) for v in font.getbbox(line.text))
    canvas = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), line.text, font=font, fill=255)
    alpha = np.asarray(canvas, np.float32) / 255.0
    ys, xs = np.nonzero(alpha > 0.1)
    return alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def make_background(rng: np.random.Generator) -> np.ndarray:
    """A busy, low-contrast canvas larger than a frame, panned over time."""
    h, w = HEIGHT + 200, WIDTH + 400
    ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    base = (110 + 60 * ramp * np.array([1.0, 0.6, 0.3], np.float32)) * np.ones((h, 1, 1))
    canvas = base.astype(np.uint8)
    for _ in range(260):
        color = tuple(int(c) for c in rng.integers(70, 190, 3))
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            cv2.circle(canvas, center, int(rng.integers(10, 90)), color, -1)
        else:
            size = rng.integers(20, 160, 2)
            cv2.rectangle(
                canvas, center, (center[0] + int(size[0]), center[1] + int(size[1])), color, -1
            )
    noise = rng.normal(0, 12, canvas.shape).astype(np.float32)
    canvas = np.clip(canvas.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(canvas, (5, 5), 0)


def position(line: Line, frame: int, sprite: np.ndarray) -> tuple[int, int]:
    """Top-left of the line at `frame`, bouncing inside the frame."""
    t = frame - line.start
    x = _bounce(line.origin[0] + line.velocity[0] * t, WIDTH - sprite.shape[1] - 8)
    y = _bounce(line.origin[1] + line.velocity[1] * t, HEIGHT - sprite.shape[0] - 8)
    return int(round(x)), int(round(y))


def _bounce(value: float, high: float) -> float:
    low = 8.0
    span = high - low
    phase = (value - low) % (2 * span)
    return low + (phase if phase <= span else 2 * span - phase)


def text_visible(frame: int) -> bool:
    return not any(start <= frame < end for start, end in NO_TEXT)


def render_frame(frame: int, background: np.ndarray, sprites: list[np.ndarray]):
    """The frame's pixels and its ground-truth lines."""
    x0, y0 = 2 * frame % 400, frame % 200
    image = background[y0 : y0 + HEIGHT, x0 : x0 + WIDTH].astype(np.float32)
    truth = []
    if text_visible(frame):
        for line, sprite in zip(LINES, sprites):
            if not line.start <= frame < line.end:
                continue
            x, y = position(line, frame, sprite)
            h, w = sprite.shape
            region = image[y : y + h, x : x + w]
            alpha = sprite[:, :, None]
            region[:] = region * (1 - alpha) + np.array(line.color, np.float32) * alpha
            truth.append({"text": line.text, "box": [x, y, x + w, y + h]})
    return image.astype(np.uint8), truth


def render(out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, truth_path = out_dir / VIDEO_NAME, out_dir / TRUTH_NAME
    partial = out_dir / ("partial-" + VIDEO_NAME)
    background = make_background(np.random.default_rng(7))
    sprites = [render_sprite(line) for line in LINES]
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError("this OpenCV build cannot write mp4v video")
    with truth_path.open("w", encoding="utf-8") as truth_file:
        for frame in range(FRAMES):
            image, truth = render_frame(frame, background, sprites)
            writer.write(image)
            truth_file.write(json.dumps({"frame": frame, "lines": truth}) + "\n")
    writer.release()
    partial.replace(video_path)
    return video_path, truth_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=MODULE_DIR / "local_data",
        help="output folder (default: the module's local_data/)",
    )
    parser.add_argument("--force", action="store_true", help="render even if present")
    args = parser.parse_args(argv)
    video = args.out / VIDEO_NAME
    if video.is_file() and (args.out / TRUTH_NAME).is_file() and not args.force:
        return 0
    try:
        video, truth = render(args.out)
    except (OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"demo video ready: {video} ({FRAMES} frames, {WIDTH}x{HEIGHT} @ {FPS} fps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
