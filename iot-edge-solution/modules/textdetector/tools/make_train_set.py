"""Render the fourteen-segment line-crop dataset of `make demo-train` (deterministic).

Line crops of DSEG14 displays (Debian fonts-dseg; the same fonts and panels as
tools/make_display_set.py): codes such as `ABC-123`, `QD-5071` or `SO58`, lit segments
over unlit ones, a camera's framing (loose margins, a slight tilt), blur, noise and JPEG.
Writes the dataset `train-rec` reads (train.txt, val.txt, crops/, dataset.json) plus a
held-out test.txt that training never sees. Splits use separate random streams and no
text appears in two splits.

Usage: python -m tools.make_train_set OUT [--train N] [--val N] [--test N] [--seed S]
"""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

import cv2
import numpy as np

from textdetector.training.dataset import Sample, write_info, write_split
from tools.make_display_set import FONTS, PANELS, font_path

COUNTS = {"train": 320, "val": 120, "test": 200}
SEED = 28


def make_text(rng: np.random.Generator) -> str:
    """A display code: letters, an optional dash, digits (ABC-123 most often)."""
    letters = "".join(rng.choice(list(string.ascii_uppercase), int(rng.integers(2, 5))))
    digits = "".join(rng.choice(list(string.digits), int(rng.integers(2, 5))))
    if rng.random() < 0.5:
        letters, digits = (
            "".join(rng.choice(list(string.ascii_uppercase), 3)),
            "".join(rng.choice(list(string.digits), 3)),
        )
    return f"{letters}{'-' if rng.random() < 0.75 else ''}{digits}"


def draw_line(text: str, rng: np.random.Generator) -> np.ndarray:
    """The lit text over its unlit segments on a panel, cropped loosely around the line."""
    from PIL import Image, ImageDraw, ImageFont

    panel, lit, unlit = PANELS[int(rng.integers(len(PANELS)))]
    font = ImageFont.truetype(str(font_path(str(rng.choice(FONTS)))), int(rng.integers(36, 64)))
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    height = bottom - top
    pad_x, pad_y = (int(rng.uniform(0.1, 0.5) * height) for _ in range(2))
    canvas = Image.new("RGB", (right - left + 2 * pad_x, height + 2 * pad_y), panel[::-1])
    pen = ImageDraw.Draw(canvas)
    ghost = "".join("~" if c.isalnum() else c for c in text)
    pen.text((pad_x - left, pad_y - top), ghost, font=font, fill=unlit[::-1])
    pen.text((pad_x - left, pad_y - top), text, font=font, fill=lit[::-1])
    return np.asarray(canvas)[:, :, ::-1].copy()


def camera(image: np.ndarray, rng: np.random.Generator) -> bytes:
    """A slight tilt, blur, sensor noise and a JPEG of quality 40-85."""
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-2.5, 2.5)), 1.0)
    image = cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.3, 1.5)))
    image = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 86))])
    if not ok:
        raise RuntimeError("this OpenCV build cannot encode JPEG")
    return data.tobytes()


def render(out: Path, counts: dict[str, int] = COUNTS, seed: int = SEED) -> dict[str, int]:
    """Write the splits into `out` (created); returns the crops per split."""
    (out / "crops").mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for index, (split, count) in enumerate(counts.items()):
        rng = np.random.default_rng([seed, index])
        samples: list[Sample] = []
        while len(samples) < count:
            text = make_text(rng)
            if text in seen:
                continue
            seen.add(text)
            name = f"crops/{split}-{len(samples):04d}.jpg"
            (out / name).write_bytes(camera(draw_line(text, rng), rng))
            samples.append(Sample(name, text))
        write_split(out, split, samples)
    write_info(out, source="tools.make_train_set", font="DSEG14", seed=seed, counts=counts)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("out", type=Path, help="dataset folder to write")
    for split, count in COUNTS.items():
        parser.add_argument(f"--{split}", type=int, default=count, help=f"{split} crops")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    try:
        counts = render(args.out, {s: getattr(args, s) for s in COUNTS}, args.seed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"rendered {args.out}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
