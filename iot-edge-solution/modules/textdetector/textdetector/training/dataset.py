"""The recognition dataset `train-rec` reads (PaddleOCR's recognition label format).

A dataset is a directory holding `train.txt` and `val.txt`, one line per crop:
`<path relative to the directory><TAB><text>` in UTF-8, the crop images they name
(e.g. `crops/<id>.png`) and optionally `dataset.json` ({"format": "paddleocr-rec",
"version": 1, ...}). This module reads, checks and writes that layout; it needs no torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np

from ..errors import KitError

FORMAT = "paddleocr-rec"
VERSION = 1
SPLITS = ("train", "val")
INFO_FILE = "dataset.json"


class DatasetError(KitError):
    """The dataset cannot be used as it is (one readable line says where and why)."""

    exit_code = 2


@dataclass(frozen=True)
class Sample:
    """One labelled line crop: its path relative to the dataset and its text."""

    path: str
    text: str


@dataclass(frozen=True)
class Dataset:
    """A dataset directory's splits and its optional `dataset.json`."""

    root: Path
    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    info: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> tuple[Sample, ...]:
        return self.train if name == "train" else self.val

    def image_path(self, sample: Sample) -> Path:
        return self.root / sample.path

    def characters(self) -> set[str]:
        """Every character of every label."""
        return {c for s in self.train + self.val for c in s.text}


def _safe_relative(text: str, where: str) -> str:
    """`text` as a relative POSIX path inside the dataset, else DatasetError."""
    path = PurePosixPath(text.replace("\\", "/"))
    if not text or path.is_absolute() or ".." in path.parts:
        raise DatasetError(f"{where}: crop path must be relative inside the dataset: {text!r}")
    return str(path)


def parse_line(line: str, where: str) -> Sample:
    """One label line `path<TAB>text`; DatasetError naming `where` when malformed."""
    path, tab, text = line.partition("\t")
    if not tab:
        raise DatasetError(f"{where}: expected '<crop path><TAB><text>', got {line[:60]!r}")
    if not text.strip():
        raise DatasetError(f"{where}: empty text for {path!r}")
    return Sample(_safe_relative(path.strip(), where), text)


def read_split(root: Path, name: str) -> tuple[Sample, ...]:
    """The samples of `root/<name>.txt` (blank lines skipped); DatasetError when missing."""
    labels = root / f"{name}.txt"
    if not labels.is_file():
        raise DatasetError(f"dataset {root}: {labels.name} not found")
    try:
        lines = labels.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{labels}: not readable UTF-8 text ({exc})") from None
    return tuple(
        parse_line(line, f"{labels.name} line {number}")
        for number, line in enumerate(lines, start=1)
        if line.strip()
    )


def read_info(root: Path) -> dict[str, Any]:
    """`dataset.json` when present ({} otherwise); DatasetError for another format."""
    path = root / INFO_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    if info.get("format", FORMAT) != FORMAT or int(info.get("version", VERSION)) > VERSION:
        raise DatasetError(
            f"{path}: format {info.get('format')!r} version {info.get('version')!r}; "
            f"this version reads {FORMAT!r} version {VERSION}"
        )
    return info


def read_crop(path: Path) -> np.ndarray:
    """A crop as a BGR uint8 image; DatasetError when missing or not an image."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        raise DatasetError(f"crop not found or not readable: {path}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None or image.shape[0] < 2 or image.shape[1] < 2:
        raise DatasetError(f"crop is not a readable image: {path}")
    return image


def check_crops(dataset: Dataset) -> None:
    """Decode every crop once; the first unreadable one raises DatasetError."""
    for name in SPLITS:
        for sample in dataset.split(name):
            read_crop(dataset.image_path(sample))


def load_dataset(root: Path, check_images: bool = True) -> Dataset:
    """Read and check a dataset directory: both splits non-empty, every crop readable."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset directory not found: {root}")
    info = read_info(root)
    train, val = read_split(root, "train"), read_split(root, "val")
    if not train:
        raise DatasetError(f"dataset {root}: train.txt has no labelled crops")
    if not val:
        raise DatasetError(
            f"dataset {root}: val.txt has no labelled crops (early stopping and the gates "
            "need a val split)"
        )
    dataset = Dataset(root, train, val, info)
    if check_images:
        check_crops(dataset)
    return dataset


def unknown_characters(dataset: Dataset, symbols: Iterable[str]) -> dict[str, Sample]:
    """Characters of the labels missing from `symbols`, each with a first sample using it."""
    known = set(symbols) | {" "}
    first: dict[str, Sample] = {}
    for sample in dataset.train + dataset.val:
        for char in sample.text:
            if char not in known and char not in first:
                first[char] = sample
    return first


def write_split(root: Path, name: str, samples: Sequence[Sample]) -> Path:
    """Write `root/<name>.txt` in the label format (crops are the caller's)."""
    for sample in samples:
        if "\t" in sample.text or "\n" in sample.text:
            raise DatasetError(f"label of {sample.path!r} holds a tab or a line break")
    path = root / f"{name}.txt"
    path.write_text("".join(f"{s.path}\t{s.text}\n" for s in samples), encoding="utf-8")
    return path


def write_info(root: Path, **fields: Any) -> Path:
    """Write `dataset.json` with the format and version, plus `fields`."""
    path = root / INFO_FILE
    info = {"format": FORMAT, "version": VERSION, **fields}
    path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
