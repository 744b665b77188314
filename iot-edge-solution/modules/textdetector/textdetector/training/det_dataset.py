"""The detection dataset `train-det` reads (PaddleOCR's detection label format).

`DIR/detection/det_labels.txt` (as the review dashboard exports it), or a
`det_labels.txt` in DIR itself: one line per image, `<image path relative to that
file's folder><TAB><JSON list of {"transcription": str, "points": [[x, y], ...]}>`;
`"###"` marks a region that is neither text to find nor background ("do not care").
The val split is fixed per image (a hash of its path), so a grown set keeps its old
images where they were. Needs no torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import DatasetError, _safe_relative, read_crop

LABELS = "det_labels.txt"
IGNORE = "###"
VAL_SHARE = 5  # one image in five (by hash) is val
MAX_COORDINATE = 1e6


@dataclass(frozen=True)
class DetSample:
    """One labelled image: its path, its regions (float32 (K, 2) polygons) and which of
    them are "do not care"."""

    path: Path
    polygons: tuple[np.ndarray, ...]
    ignore: tuple[bool, ...]

    @property
    def text_regions(self) -> list[np.ndarray]:
        return [p for p, skip in zip(self.polygons, self.ignore) if not skip]


def labels_file(root: Path) -> Path:
    """`root/detection/det_labels.txt`, else `root/det_labels.txt`; DatasetError if neither."""
    for candidate in (root / "detection" / LABELS, root / LABELS):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{root}: no detection/{LABELS} or {LABELS} (PaddleOCR detection labels)")


def _polygon(entry: object, where: str) -> tuple[np.ndarray, bool]:
    if not isinstance(entry, dict) or "points" not in entry:
        raise DatasetError(f"{where}: each region needs 'points' and 'transcription'")
    try:
        points = np.asarray(entry["points"], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DatasetError(f"{where}: 'points' must be a list of [x, y] pairs") from None
    if points.ndim != 2 or points.shape[0] < 3 or points.shape[1] != 2:
        raise DatasetError(f"{where}: 'points' must hold at least 3 [x, y] pairs")
    if not (np.isfinite(points).all() and np.abs(points).max() < MAX_COORDINATE):
        raise DatasetError(f"{where}: 'points' must be pixel coordinates (finite, < 1e6)")
    text = entry.get("transcription", "")
    return points.astype(np.float32), not isinstance(text, str) or text == IGNORE


def parse_det_line(line: str, folder: Path, where: str) -> DetSample:
    """One `path<TAB>[regions]` line; DatasetError naming `where` when malformed."""
    path, tab, regions = line.rstrip("\r\n").partition("\t")
    if not tab:
        raise DatasetError(f"{where}: expected <image path><TAB><JSON regions>")
    try:
        entries = json.loads(regions)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: regions are not JSON ({exc.msg})") from None
    if not isinstance(entries, list):
        raise DatasetError(f"{where}: regions must be a JSON list")
    parsed = [_polygon(e, f"{where} region {i}") for i, e in enumerate(entries)]
    return DetSample(
        folder / _safe_relative(path, where),
        tuple(p for p, _ in parsed),
        tuple(i for _, i in parsed),
    )


def is_val(sample: DetSample) -> bool:
    """The fixed split: a hash of the image's file name."""
    digest = hashlib.sha256(sample.path.name.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % VAL_SHARE == 0


def read_det_dataset(root: Path) -> tuple[list[DetSample], list[DetSample]]:
    """(train, val) of a dataset folder; both hold at least one image with text (the
    image nearest the boundary changes sides when one split would be empty)."""
    labels = labels_file(root)
    lines = labels.read_text(encoding="utf-8").splitlines()
    samples = [
        parse_det_line(line, labels.parent, f"{labels.name} line {number}")
        for number, line in enumerate(lines, 1)
        if line.strip()
    ]
    samples = [s for s in samples if s.text_regions]
    if len(samples) < 2:
        raise DatasetError(f"{labels}: at least 2 images with text regions are needed")
    val = [s for s in samples if is_val(s)]
    train = [s for s in samples if not is_val(s)]
    if not val:
        val, train = train[-1:], train[:-1]
    elif not train:
        train, val = val[-1:], val[:-1]
    return train, val


def read_image(sample: DetSample) -> np.ndarray:
    """The sample's image, BGR uint8; DatasetError when missing or unreadable."""
    return read_crop(sample.path)
