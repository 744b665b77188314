"""Render the deterministic recognition evaluation set and its ground truth.

Lines of text in other DejaVu fonts (shipped with matplotlib) over real photographs
(shipped with scikit-image), then a mild perspective warp, blur and JPEG noise. Writes
eval_set/NNN.jpg and eval_set/gt.jsonl (one JSON object per image:
{"image": name, "lines": [{"text", "quad": [[x, y] x4] (tl, tr, br, bl), "box": [x0, y0,
x1, y1]}]}, ink bounds after the warp).

Usage: python tools/make_eval_set.py [--out DIR] [--count N] [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

MODULE_DIR = Path(__file__).resolve().parent.parent
SET_NAME, TRUTH_NAME = "eval_set", "gt.jsonl"
WIDTH, HEIGHT, COUNT, SEED = 800, 600, 40, 2026
PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
)
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansDisplay.ttf",
)
WORDS = (
    "Exit",
    "North",
    "Station",
    "Platform",
    "Warning",
    "Office",
    "Parking",
    "Level",
    "Door",
    "Hall",
    "Line",
    "Zone",
    "Cargo",
    "Storage",
    "Open",
    "Daily",
    "Lift",
    "Service",
    "Bay",
    "Pump",
    "Valve",
    "Room",
    "Track",
    "Dock",
    "Tower",
)


def font_path(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def make_text(rng: np.random.Generator) -> str:
    """A sign-like line: words, numbers, codes, dates."""
    word = lambda: str(rng.choice(WORDS))  # noqa: E731
    kind = int(rng.integers(0, 6))
    number = int(rng.integers(1, 999))
    if kind == 0:
        return f"{word()} {word()} {number}"
    if kind == 1:
        return f"{word()} {chr(65 + int(rng.integers(0, 26)))}{number}"
    if kind == 2:
        return f"ID:{int(rng.integers(1000, 9999))}-{word().upper()[:3]}"
    if kind == 3:
        return f"{word()} {int(rng.integers(2020, 2031))}-{int(rng.integers(1, 13)):02d}"
    if kind == 4:
        return f"{word().upper()} {word().upper()}"
    return f"{number} {word().lower()}"


def background(name: str) -> np.ndarray:
    """The photograph as BGR, scaled to cover WIDTH x HEIGHT and centre-cropped."""
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2BGR)
    scale = max(WIDTH / image.shape[1], HEIGHT / image.shape[0])
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    y, x = (image.shape[0] - HEIGHT) // 2, (image.shape[1] - WIDTH) // 2
    return np.ascontiguousarray(image[y : y + HEIGHT, x : x + WIDTH])


def draw_lines(image: np.ndarray, rng: np.random.Generator) -> list[dict]:
    """Draw 2-4 non-overlapping lines on a plate of contrasting colour; their quads."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.fromarray(image[:, :, ::-1])
    draw = ImageDraw.Draw(canvas)
    taken: list[tuple[int, int, int, int]] = []
    lines = []
    for _ in range(int(rng.integers(2, 5))):
        text = make_text(rng)
        font = ImageFont.truetype(str(font_path(str(rng.choice(FONTS)))), int(rng.integers(22, 46)))
        left, top, right, bottom = (int(v) for v in font.getbbox(text))
        w, h = right - left, bottom - top
        for _attempt in range(30):
            x = int(rng.integers(20, max(21, WIDTH - w - 20)))
            y = int(rng.integers(20, max(21, HEIGHT - h - 20)))
            box = (x - 8, y - 8, x + w + 8, y + h + 8)
            if all(box[2] < t[0] or box[0] > t[2] or box[3] < t[1] or box[1] > t[3] for t in taken):
                break
        else:
            continue
        taken.append(box)
        light = bool(rng.random() < 0.5)
        plate = (
            tuple(int(v) for v in rng.integers(200, 256, 3))
            if light
            else tuple(int(v) for v in rng.integers(0, 50, 3))
        )
        ink = (
            tuple(int(v) for v in rng.integers(0, 60, 3))
            if light
            else tuple(int(v) for v in rng.integers(200, 256, 3))
        )
        draw.rectangle(box, fill=plate)
        draw.text((x - left, y - top), text, font=font, fill=ink)
        quad = [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
        lines.append({"text": text, "quad": quad})
    image[:] = np.asarray(canvas)[:, :, ::-1]
    return lines


def distort(image: np.ndarray, lines: list[dict], rng: np.random.Generator) -> np.ndarray:
    """Mild perspective warp (quads follow), Gaussian blur."""
    corners = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32)
    moved = corners + rng.uniform(-40, 40, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved)
    image = cv2.warpPerspective(
        image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    for line in lines:
        quad = cv2.perspectiveTransform(np.array([line["quad"]], np.float32), matrix)[0]
        line["quad"] = [[round(float(x), 1), round(float(y), 1)] for x, y in quad]
        line["box"] = [round(float(v), 1) for v in (*quad.min(axis=0), *quad.max(axis=0))]
    sigma = float(rng.uniform(0.0, 1.2))
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    return image


def render(out_dir: Path, count: int = COUNT) -> Path:
    """Write `count` images and the ground truth into out_dir/eval_set/."""
    folder = out_dir / SET_NAME
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    photos = {name: background(name) for name in PHOTOS}
    records = []
    for index in range(count):
        image = photos[PHOTOS[index % len(PHOTOS)]].copy()
        lines = draw_lines(image, rng)
        image = distort(image, lines, rng)
        quality = int(rng.integers(35, 90))
        name = f"{index:03d}.jpg"
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("this OpenCV build cannot encode JPEG")
        (folder / name).write_bytes(data.tobytes())
        records.append({"image": name, "jpeg_quality": quality, "lines": lines})
    truth = folder / TRUTH_NAME
    partial = folder / ("partial-" + TRUTH_NAME)
    partial.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    partial.replace(truth)
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=MODULE_DIR / "local_data",
        help="output folder (default: the module's local_data/)",
    )
    parser.add_argument("--count", type=int, default=COUNT, help=f"images (default {COUNT})")
    parser.add_argument("--force", action="store_true", help="render even if present")
    args = parser.parse_args(argv)
    truth = args.out / SET_NAME / TRUTH_NAME
    if truth.is_file() and not args.force:
        return 0
    try:
        truth = render(args.out, args.count)
    except (OSError, RuntimeError, AttributeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"evaluation set ready: {truth.parent} ({args.count} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
