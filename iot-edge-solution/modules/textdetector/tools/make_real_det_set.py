"""A `train-det` folder from the real-scene set's tune split (never its test split).

`evaluation/real_scenes/det_boxes_tune.jsonl` holds hand-drawn boxes for text the
shipped detector does not box on tune photos (tape-measure digits, gauge numbers, LED
displays): one line per image, `{"image", "boxes": [{"text", "ink": [cx, cy, w, h,
angle]}]}`, the ink's rectangle in source pixels (w along the text, h across it, the
text's direction in degrees). Each is grown to the detector's own box convention (0.4
of the letter height above and below the ink, 0.27 on each side: `GROW_ACROSS`,
`GROW_ALONG`) and labelled as text. On those photos the boxes the module's `detect`
path reads are labelled "###" (do not care): text the shipped model finds stays as it
is (train-det keeps its map there), and nothing it boxes is taught as background.
Photos without a drawn box are not written: train-det learns only from images that
hold text regions. Writes DIR/images/ and DIR/det_labels.txt.

Usage: python -m tools.make_real_det_set DIR [--images a.jpg,b.png]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tools import eval_real

BOXES = eval_real.SET_DIR / "det_boxes_tune.jsonl"
GROW_ACROSS = 0.4  # letter heights added above and below the ink
GROW_ALONG = 0.27  # letter heights added before and after it
OVERLAP = 0.3  # a found box covering this share of a drawn one (of the smaller) gives way


def hand_boxes(path: Path = BOXES) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Image name -> (text, (4, 2) quad in the detector's convention) of each drawn box."""
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            out[entry["image"]] = [(b["text"], grown(*b["ink"])) for b in entry["boxes"]]
    return out


def grown(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    """The detector-style quad (tl, tr, br, bl as the text reads) of an ink rectangle."""
    along = w + 2 * GROW_ALONG * h
    across = h + 2 * GROW_ACROSS * h
    a = math.radians(angle)
    u = np.array([math.cos(a), math.sin(a)]) * along / 2
    v = np.array([-math.sin(a), math.cos(a)]) * across / 2
    c = np.array([cx, cy])
    return np.array([c - u - v, c + u - v, c + u + v, c - u + v], np.float32)


def build(out: Path, images: Sequence[str] = ()) -> tuple[int, int, int]:
    """Write the folder; (images, drawn boxes, "###" boxes)."""
    from shapely.geometry import Polygon  # type: ignore[import-untyped]  # no stubs

    drawn = hand_boxes()
    tune = {item.name: item for item in eval_real.load_set(split="tune")}
    if unknown := set(drawn) - set(tune):  # the test split is never trained on
        raise SystemExit(f"error: {BOXES.name} names images outside the tune split: {unknown}")
    if derived := {name for name in drawn if name.startswith("derived_")}:
        raise SystemExit(
            f"error: {BOXES.name} names derived images (test photos in them): {derived}"
        )
    chosen = [
        item for name, item in tune.items() if name in drawn and (not images or name in images)
    ]
    read, close = eval_real.our_boxes()
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    lines, counts = [], [0, 0]
    try:
        for item in chosen:
            try:
                image = eval_real.load_image(item)
            except FileNotFoundError as exc:
                raise SystemExit(f"error: {exc}") from None
            mine = [(text, Polygon(q)) for text, q in drawn.get(item.name, [])]
            entries = []
            for box in read(image):
                found = Polygon(box)
                if not any(_covers(found, p) for _, p in mine):
                    entries.append({"transcription": "###", "points": _points(box)})
                    counts[1] += 1
            for text, quad in drawn.get(item.name, []):
                entries.append({"transcription": text, "points": _points(quad)})
                counts[0] += 1
            shutil.copyfile(item.path, out / "images" / item.name)
            lines.append(f"images/{item.name}\t{json.dumps(entries, ensure_ascii=False)}")
    finally:
        close()
    (out / "det_labels.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines), counts[0], counts[1]


def _covers(found, drawn) -> bool:
    smaller = min(found.area, drawn.area)
    return bool(smaller) and found.intersection(drawn).area > OVERLAP * smaller


def _points(quad: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in np.asarray(quad)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="train-det folder to create")
    parser.add_argument("--images", default="", help="comma list: only these tune images")
    args = parser.parse_args(argv)
    names = [n for n in args.images.split(",") if n]
    count, boxes, ignored = build(args.out, names)
    print(f"wrote {args.out}: {count} tune photos, {boxes} drawn boxes, {ignored} found (###)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
