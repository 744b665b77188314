#!/usr/bin/env python3
"""Deterministically derive the few synthetic-layout images of the real_scenes set.

Every derived image is built only from real photos that live in images/
(text photos) and images/backgrounds/ (text-free photos used as canvas).
Nothing is random; running the script again gives byte-identical files for a
given OpenCV build.  Output: JPEG quality 90, written to images/.

Derivations (see labels.jsonl "origin.derived" for each file):
  small_in_large: a text-free photo upscaled (INTER_CUBIC) to 3840x2160 or
      1920x1080, with real text photos pasted at their native size (no scaling).
  curved: a real text photo warped with a parabolic vertical displacement
      (cv2.remap), so straight text lines become arcs.
  vertical: a real text photo rotated by 90 degrees clockwise, so the text
      runs top-to-bottom.
Usage: python derive.py   (from any directory)
"""

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
IMG = HERE / "images"
BG = IMG / "backgrounds"
JPEG = [int(cv2.IMWRITE_JPEG_QUALITY), 90]


def load(path: Path) -> np.ndarray:
    im = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if im is None:
        raise FileNotFoundError(path)
    return im


def save(name: str, im: np.ndarray) -> None:
    cv2.imwrite(str(IMG / name), im, JPEG)
    print(f"wrote {name} {im.shape[1]}x{im.shape[0]}")


def canvas(background: str, width: int, height: int) -> np.ndarray:
    """Upscale (cover + centre crop) a text-free photo to width x height."""
    bg = load(BG / background)
    h, w = bg.shape[:2]
    s = max(width / w, height / h)
    big = cv2.resize(bg, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_CUBIC)
    y0 = (big.shape[0] - height) // 2
    x0 = (big.shape[1] - width) // 2
    return big[y0 : y0 + height, x0 : x0 + width].copy()


def paste(dst: np.ndarray, src_name: str, x: int, y: int) -> None:
    src = load(IMG / src_name)
    h, w = src.shape[:2]
    assert y + h <= dst.shape[0] and x + w <= dst.shape[1], (src_name, x, y)
    dst[y : y + h, x : x + w] = src


def small_in_large(out: str, background: str, size: tuple, pastes: list) -> None:
    im = canvas(background, *size)
    for name, x, y in pastes:
        paste(im, name, x, y)
    save(out, im)


def curved(out: str, src_name: str, amplitude_frac: float) -> None:
    """Bend every horizontal line into a parabola: the centre stays, the left
    and right edges are pushed down by `amplitude` pixels (an arch)."""
    src = load(IMG / src_name)
    h, w = src.shape[:2]
    a = int(round(amplitude_frac * h))
    out_h = h + a
    xs = np.arange(w, dtype=np.float32)
    offset = a * ((2.0 * xs / (w - 1)) - 1.0) ** 2  # 0 in the centre, a at the edges
    map_x = np.tile(xs, (out_h, 1))
    ys = np.arange(out_h, dtype=np.float32)[:, None]
    map_y = ys - offset[None, :]
    warped = cv2.remap(
        src,
        map_x,
        map_y.astype(np.float32),
        interpolation=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    save(out, warped)


def vertical(out: str, src_name: str) -> None:
    save(out, cv2.rotate(load(IMG / src_name), cv2.ROTATE_90_CLOCKWISE))


def main() -> None:
    # small text in large frames (pasted photos keep their native pixel size)
    small_in_large(
        "derived_sil_4k_building.jpg",
        "building.jpg",
        (3840, 2160),
        [
            ("scenetext_word01.jpg", 620, 1520),
            ("scenetext_word03.jpg", 2950, 380),
            ("page.png", 1800, 1700),
        ],
    )
    small_in_large(
        "derived_sil_4k_leuven.jpg",
        "leuvenA.jpg",
        (3840, 2160),
        [
            ("scenetext_word02.jpg", 300, 260),
            ("box.png", 2100, 1000),
            ("scenetext_word04.jpg", 3200, 1850),
        ],
    )
    small_in_large(
        "derived_sil_1080_building.jpg",
        "building.jpg",
        (1920, 1080),
        [
            ("scenetext_word03.jpg", 1500, 140),
            ("scenetext_word01.jpg", 210, 880),
        ],
    )
    small_in_large(
        "derived_sil_1080_leuven.jpg",
        "leuvenA.jpg",
        (1920, 1080),
        [
            ("scenetext_word04.jpg", 150, 120),
            ("page.png", 1380, 820),
        ],
    )
    small_in_large(
        "derived_sil_4k_leuven_b.jpg",
        "leuvenA.jpg",
        (3840, 2160),
        [
            ("messi5.jpg", 2700, 260),
            ("scenetext_segmented_word05.jpg", 500, 1500),
        ],
    )
    small_in_large(
        "derived_sil_1080_building_b.jpg",
        "building.jpg",
        (1920, 1080),
        [
            ("scenetext_word02.jpg", 120, 160),
            ("grace_hopper.jpg", 1300, 420),
        ],
    )
    # curved text
    curved("derived_curved_word02.jpg", "scenetext_word02.jpg", 0.45)
    curved("derived_curved_word03.jpg", "scenetext_word03.jpg", 0.45)
    curved("derived_curved_segmented_word01.jpg", "scenetext_segmented_word01.jpg", 0.25)
    curved("derived_curved_segmented_word03.jpg", "scenetext_segmented_word03.jpg", 0.25)
    # vertical (rotated 90 degrees clockwise: text runs top-to-bottom)
    vertical("derived_vertical_segmented_word04.jpg", "scenetext_segmented_word04.jpg")
    vertical("derived_vertical_scenetext03.jpg", "scenetext03.jpg")


if __name__ == "__main__":
    main()
