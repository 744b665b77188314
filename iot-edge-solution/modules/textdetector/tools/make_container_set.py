"""Render the deterministic container-code evaluation set and its ground truth.

ISO 6346 codes (owner code, category U/J/Z, serial, check digit in a painted box) on
corrugated container walls: a paint colour, the ribs' light and shade, dirt, rust
blotches and streaks, then a perspective warp, blur and JPEG noise. Every fifth image
belongs to the held-out split (never used to tune). Writes container_set/NNN.jpg and
container_set/gt.jsonl: {"image", "code", "split": "tune" | "held_out", "box": [x0, y0,
x1, y1]} (the code's ink bounds after the warp).

Usage: python -m tools.make_container_set.py [--out DIR] [--count N] [--force]
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import cv2
import numpy as np

from textdetector.recognizer.constrain.iso6346 import check_digit
from tools import rendered_set

MODULE_DIR = Path(__file__).resolve().parent.parent

SET_NAME, TRUTH_NAME = "container_set", "gt.jsonl"
WIDTH, HEIGHT, COUNT, SEED, HELD_OUT_EVERY = 640, 360, 200, 6346, 5
FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf")
PAINTS = (
    (40, 40, 170),
    (150, 80, 30),
    (40, 110, 40),
    (110, 110, 110),
    (30, 120, 220),
    (60, 60, 60),
)


def font_path(name: str) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def make_code(rng: np.random.Generator) -> str:
    """A random well-formed code: 3 letters, U (mostly) J or Z, 6 digits, check digit."""
    letters = "".join(rng.choice(list(string.ascii_uppercase), 3))
    category = str(rng.choice(list("UUUUJZ")))
    serial = "".join(rng.choice(list(string.digits), 6))
    return f"{letters}{category}{serial}{check_digit(letters + category + serial)}"


def wall(rng: np.random.Generator) -> np.ndarray:
    """A corrugated wall: paint, vertical ribs, dirt and rust (BGR uint8)."""
    paint = np.array(PAINTS[int(rng.integers(len(PAINTS)))], np.float32)
    x = np.arange(WIDTH, dtype=np.float32)
    period = float(rng.uniform(40, 90))
    ribs = (
        0.75
        + 0.25
        * np.sign(np.sin(2 * np.pi * x / period))
        * np.abs(np.sin(2 * np.pi * x / period)) ** 0.3
    )
    image = paint[None, None, :] * ribs[None, :, None] * np.ones((HEIGHT, 1, 1), np.float32)
    dirt = cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 9)
    image *= (1 + 0.35 * dirt / (np.abs(dirt).max() + 1e-6))[:, :, None]
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return _rust(image, rng)


def _rust(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brown blotches and downward streaks blended in."""
    noise = rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32)
    field: np.ndarray = cv2.GaussianBlur(noise, (0, 0), 14)
    field /= np.abs(field).max() + 1e-6
    mask = np.clip((field - rng.uniform(0.2, 0.5)) * 4, 0, 1)
    streaks = np.zeros((HEIGHT, WIDTH), np.float32)
    for _ in range(int(rng.integers(0, 6))):
        x0, y0 = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT // 2))
        cv2.line(
            streaks, (x0, y0), (x0 + int(rng.integers(-8, 8)), HEIGHT), 0.6, int(rng.integers(2, 6))
        )
    mask = np.clip(mask + cv2.GaussianBlur(streaks, (0, 0), 3), 0, 0.85)[:, :, None]
    rust = np.array((30, 60, 120), np.float32)
    return np.clip(image * (1 - mask) + rust * mask, 0, 255).astype(np.uint8)


def paint_code(image: np.ndarray, code: str, rng: np.random.Generator) -> list[float]:
    """Paint `CODE 123456 [7]` (check digit boxed); its ink quad before warping."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.fromarray(image[:, :, ::-1])
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(font_path(str(rng.choice(FONTS)))), int(rng.integers(30, 52)))
    ink = (235, 235, 230) if image.mean() < 150 else (25, 25, 25)
    head = f"{code[:4]} {code[4:10]} "
    left, top, right, bottom = (int(v) for v in font.getbbox(head + code[10]))
    width, height = right - left, bottom - top
    x = int(rng.integers(20, max(21, WIDTH - width - 30)))
    y = int(rng.integers(30, max(31, HEIGHT - height - 30)))
    draw.text((x - left, y - top), head, font=font, fill=ink)
    digit_x = x + font.getlength(head)
    draw.text((digit_x - left, y - top), code[10], font=font, fill=ink)
    pad = max(3, height // 6)
    d_left, _, d_right, _ = (int(v) for v in font.getbbox(code[10]))
    draw.rectangle(
        (digit_x - pad, y - pad, digit_x + d_right - d_left + pad, y + height + pad),
        outline=ink,
        width=max(2, height // 14),
    )
    image[:] = np.asarray(canvas)[:, :, ::-1]
    return [x, y, x + width, y + height]


def distort(image: np.ndarray, box: list[float], rng: np.random.Generator) -> tuple:
    """Perspective warp (the box follows), blur; the warped image and box."""
    corners = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32)
    moved = corners + rng.uniform(-45, 45, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved)
    image = cv2.warpPerspective(image, matrix, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
    x0, y0, x1, y1 = box
    box_quad = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32)
    quad = cv2.perspectiveTransform(box_quad, matrix)
    bounds = [round(float(v), 1) for v in (*quad[0].min(axis=0), *quad[0].max(axis=0))]
    sigma = float(rng.uniform(0.0, 1.6))
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    return image, bounds


def render(out_dir: Path, count: int = COUNT) -> Path:
    """Write `count` images and the ground truth into out_dir/container_set/."""
    folder = out_dir / SET_NAME
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    records = []
    for index in range(count):
        code = make_code(rng)
        image = wall(rng)
        image, box = distort(image, paint_code(image, code, rng), rng)
        ok, data = cv2.imencode(
            ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 80))]
        )
        if not ok:
            raise RuntimeError("this OpenCV build cannot encode JPEG")
        name = f"{index:03d}.jpg"
        (folder / name).write_bytes(data.tobytes())
        split = "held_out" if index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 else "tune"
        records.append({"image": name, "code": code, "split": split, "box": box})
    return rendered_set.write_truth(folder, TRUTH_NAME, records)


def main(argv: list[str] | None = None) -> int:
    return rendered_set.main(render, SET_NAME, TRUTH_NAME, COUNT, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
