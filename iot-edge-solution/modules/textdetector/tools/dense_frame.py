"""Render a deterministic dense-text frame (hundreds of words) for post-process benchmarks.

Words in rows of DejaVu TrueType text (shipped with matplotlib), varied sizes, fonts and
shades on a light, slightly noisy background. The same seed gives the same pixels.

Usage: python -m tools.dense_frame [--out dense.png] [--width 1280] [--height 720] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf")
VOCABULARY = (
    "edge vision text frame camera gate dock serial model batch stream detect box score "
    "speed limit keep clear moving parts inspection due valve pump line sensor north south "
    "east west zone alpha beta gamma delta unit panel label order part lot code shelf aisle "
    "exit entry door floor level warning caution hot cold high low voltage pressure flow"
).split()


def _font(name: str, size: int):
    import matplotlib
    from PIL import ImageFont

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    return ImageFont.truetype(str(path), size)


def render_dense_frame(
    width: int = 1280, height: int = 720, seed: int = 0
) -> tuple[np.ndarray, list[dict]]:
    """A BGR uint8 frame full of words, and the words: {"text", "box": [x0, y0, x1, y1]}."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 2.0, (height, width, 1))
    base = np.clip(225.0 + noise, 0, 255).astype(np.uint8).repeat(3, axis=2)
    canvas = Image.fromarray(base)
    draw = ImageDraw.Draw(canvas)
    words: list[dict] = []
    y = 6
    while True:
        size = int(rng.integers(13, 18))
        font = _font(FONTS[int(rng.integers(len(FONTS)))], size)
        row_height = int(size * 1.6)
        if y + row_height > height - 4:
            break
        x = 6 + int(rng.integers(0, 12))
        while True:
            text = str(VOCABULARY[int(rng.integers(len(VOCABULARY)))])
            left, top, right, bottom = (int(v) for v in draw.textbbox((x, y), text, font=font))
            if right > width - 6:
                break
            shade = int(rng.integers(0, 40))
            draw.text((x, y), text, font=font, fill=(shade, shade, shade))
            words.append({"text": text, "box": [left, top, right, bottom]})
            x = right + int(size * 1.5) + int(rng.integers(0, 8))
        y += row_height
    bgr = np.ascontiguousarray(np.asarray(canvas)[:, :, ::-1])
    return bgr, words


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="dense_frame.png", help="PNG file to write")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import cv2

    bgr, words = render_dense_frame(args.width, args.height, args.seed)
    cv2.imwrite(args.out, bgr)
    print(f"{args.out}: {args.width}x{args.height}, {len(words)} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
