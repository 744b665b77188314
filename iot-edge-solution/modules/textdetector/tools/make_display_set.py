"""Render the deterministic fourteen-segment display evaluation set and its ground truth.

Three letters, a dash and three digits (`ABC-123`) in Debian's DSEG14 font (package
fonts-dseg), lit segments over the display's unlit ones, on a dark or a light LCD panel,
then blur and JPEG noise. Writes display_set/NN.jpg and display_set/gt.jsonl:
{"image", "text"}.

Usage: python -m tools.make_display_set.py [--out DIR] [--count N] [--force]
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import cv2
import numpy as np

from tools import rendered_set

MODULE_DIR = Path(__file__).resolve().parent.parent
SET_NAME, TRUTH_NAME = "display_set", "gt.jsonl"
WIDTH, HEIGHT, COUNT, SEED = 480, 160, 30, 14
FONT_DIR = Path("/usr/share/fonts/truetype/dseg")
FONTS = ("DSEG14Classic-Regular.ttf", "DSEG14Classic-Bold.ttf", "DSEG14Modern-Regular.ttf")
PANELS = (  # (panel, lit, unlit) BGR
    ((20, 25, 20), (80, 240, 120), (35, 45, 35)),
    ((150, 190, 170), (30, 40, 30), (135, 172, 155)),
    ((15, 15, 25), (60, 60, 250), (25, 25, 45)),
)


def font_path(name: str) -> Path:
    """A DSEG14 font file; a readable error when fonts-dseg is missing."""
    path = FONT_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: install Debian's fonts-dseg (scripts/test-deps.d/70-fonts-dseg.sh)"
        )
    return path


def make_text(rng: np.random.Generator) -> str:
    letters = "".join(rng.choice(list(string.ascii_uppercase), 3))
    return f"{letters}-{''.join(rng.choice(list(string.digits), 3))}"


def draw(text: str, rng: np.random.Generator) -> np.ndarray:
    """The display: unlit segments (DSEG's '~' lights all), then the text's lit ones."""
    from PIL import Image, ImageDraw, ImageFont

    panel, lit, unlit = PANELS[int(rng.integers(len(PANELS)))]
    canvas = Image.new("RGB", (WIDTH, HEIGHT), panel[::-1])
    pen = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(font_path(str(rng.choice(FONTS)))), int(rng.integers(44, 60)))
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    x = int(rng.integers(10, max(11, WIDTH - (right - left) - 10))) - left
    y = (HEIGHT - (bottom - top)) // 2 - top + int(rng.integers(-12, 13))
    pen.text((x, y), "~~~-~~~", font=font, fill=unlit[::-1])
    pen.text((x, y), text, font=font, fill=lit[::-1])
    return np.asarray(canvas)[:, :, ::-1].copy()


def render(out_dir: Path, count: int = COUNT) -> Path:
    """Write `count` images and the ground truth into out_dir/display_set/."""
    folder = out_dir / SET_NAME
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    records = []
    for index in range(count):
        text = make_text(rng)
        image = draw(text, rng)
        sigma = float(rng.uniform(0.3, 1.3))
        image = cv2.GaussianBlur(image, (0, 0), sigma)
        image = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
        ok, data = cv2.imencode(
            ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 85))]
        )
        if not ok:
            raise RuntimeError("this OpenCV build cannot encode JPEG")
        name = f"{index:02d}.jpg"
        (folder / name).write_bytes(data.tobytes())
        records.append({"image": name, "text": text})
    return rendered_set.write_truth(folder, TRUTH_NAME, records)


def main(argv: list[str] | None = None) -> int:
    return rendered_set.main(render, SET_NAME, TRUTH_NAME, COUNT, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
