"""Render a deterministic labelled detection set: tiny text on real photos.

Tiny labels (fonts of 6-9 px: words, serial numbers, seven- and fourteen-segment
readouts in Debian's DejaVu and DSEG fonts), the kind the shipped detector misses,
pasted over 1280x720 views of the two text-free real photos in
evaluation/real_scenes/images/backgrounds/, then blur, noise and JPEG. Writes
DIR/detection/images/NNN.jpg and DIR/detection/det_labels.txt in PaddleOCR's detection
label format, each box drawn as the shipped detector draws a line's box (with its
margin): the layout `train-det` reads.

Usage: python -m tools.make_det_set [--out DIR] [--count N] [--force]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

MODULE_DIR = Path(__file__).resolve().parent.parent
BACKGROUNDS = MODULE_DIR / "evaluation" / "real_scenes" / "images" / "backgrounds"
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dseg/DSEG7Classic-Regular.ttf",
    "/usr/share/fonts/truetype/dseg/DSEG14Classic-Regular.ttf",
)
WIDTH, HEIGHT, COUNT, SEED = 1280, 720, 40, 21
SIZES = (6, 10)  # font sizes in pixels, from (inclusive) to (exclusive)
MARGIN_X, MARGIN_Y = 0.27, 0.4  # the detector's box around a line, in ink heights
WORDS = "PUMP VALVE LINE OUT IN MAX MIN TEMP FLOW STOP RESET MODE AUTO EXIT ZONE BAY GATE".split()


def text_of(rng: np.random.Generator, font: str) -> str:
    if "DSEG7" in font:
        return f"{rng.integers(0, 10**4):0{int(rng.integers(2, 5))}d}"
    if rng.random() < 0.5:
        return f"{rng.choice(WORDS)} {rng.integers(1, 100)}"
    return f"SN {rng.integers(1000, 99999)}-{rng.choice(list('ABCDEFGHKX'))}"


def background(rng: np.random.Generator, photos: list[np.ndarray]) -> np.ndarray:
    photo = photos[int(rng.integers(len(photos)))]
    scale = max(WIDTH / photo.shape[1], HEIGHT / photo.shape[0]) * rng.uniform(1.0, 1.8)
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    top = int(rng.integers(0, big.shape[0] - HEIGHT + 1))
    left = int(rng.integers(0, big.shape[1] - WIDTH + 1))
    view = big[top : top + HEIGHT, left : left + WIDTH]
    return np.ascontiguousarray(view[:, ::-1] if rng.random() < 0.5 else view)


def draw_labels(
    image: np.ndarray, rng: np.random.Generator, sizes: tuple[int, int] = SIZES
) -> tuple[np.ndarray, list]:
    """Paste 6-14 labels where nothing was pasted; returns the image and tight boxes."""
    pil = Image.fromarray(image[:, :, ::-1])
    draw = ImageDraw.Draw(pil)
    taken = np.zeros((HEIGHT, WIDTH), bool)
    regions = []
    for _ in range(int(rng.integers(6, 15))):
        font_file = FONTS[int(rng.integers(len(FONTS)))]
        font = ImageFont.truetype(font_file, int(rng.integers(*sizes)))
        text = text_of(rng, font_file)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        w, h = int(x1 - x0), int(y1 - y0)
        x, y = int(rng.integers(4, WIDTH - w - 4)), int(rng.integers(4, HEIGHT - h - 4))
        if taken[y - 4 : y + h + 4, x - 4 : x + w + 4].any():
            continue
        under = float(np.asarray(pil)[y : y + h, x : x + w].mean())
        plate = rng.random() < 0.5  # a label plate behind the text
        ink = 20 if (plate or under > 128) else 235
        if plate:
            tone = int(rng.integers(190, 250))
            draw.rectangle((x - 3, y - 3, x + w + 3, y + h + 3), fill=(tone, tone, tone - 10))
        draw.text((x - x0, y - y0), text, font=font, fill=(ink, ink, ink))
        taken[y : y + h, x : x + w] = True
        box = detector_box(x, y, w, h)
        regions.append({"transcription": text, "points": box})
    return np.asarray(pil)[:, :, ::-1].copy(), regions


def detector_box(x: int, y: int, w: int, h: int) -> list[list[float]]:
    """The ink's box grown as the shipped detector draws a line's box (MARGIN_Y of the ink
    height above and below, MARGIN_X on each side: measured on this set), the convention
    `train-det` must keep; a box tight to the ink teaches boxes that clip letters."""
    dx, dy = MARGIN_X * h, MARGIN_Y * h
    x0, y0, x1, y1 = x - dx, y - dy, x + w + dx, y + h + dy
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.6:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.4, 1.1)))
    noisy = image.astype(np.float32) + rng.normal(0, rng.uniform(1, 6), image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def render(out: Path, count: int = COUNT, seed: int = SEED, sizes: tuple[int, int] = SIZES) -> int:
    """Write `count` images and their labels under out/detection; returns the regions."""
    rng = np.random.default_rng(seed)
    photos = [np.asarray(cv2.imread(str(p))) for p in sorted(BACKGROUNDS.glob("*.jpg"))]
    folder = out / "detection" / "images"
    folder.mkdir(parents=True)
    rows, total = [], 0
    for number in range(count):
        image, regions = draw_labels(background(rng, photos), rng, sizes)
        name = f"images/{number:03d}.jpg"
        quality = int(rng.integers(60, 95))
        cv2.imwrite(
            str(out / "detection" / name), camera(image, rng), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        rows.append(f"{name}\t{json.dumps(regions)}\n")
        total += len(regions)
    (out / "detection" / "det_labels.txt").write_text("".join(rows), encoding="utf-8")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODULE_DIR / "local_data" / "det_set")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--force", action="store_true", help="replace an existing set")
    args = parser.parse_args(argv)
    missing = [f for f in FONTS if not Path(f).is_file()]
    if missing:
        print(
            f"error: {missing[0]} is missing (Debian fonts-dejavu-core, fonts-dseg)",
            file=sys.stderr,
        )
        return 2
    if args.out.exists():
        if not args.force:
            print(f"{args.out} exists (--force replaces it)")
            return 0
        shutil.rmtree(args.out)
    regions = render(args.out, args.count)
    print(f"wrote {args.count} images, {regions} labelled regions, to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
