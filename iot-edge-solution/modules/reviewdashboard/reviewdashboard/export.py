"""Export every labelled line as a PaddleOCR recognition dataset (and detection labels).

The dataset directory (written to a temporary sibling, then renamed into place):

    dataset.json        {"format": "paddleocr-rec", "version": 1, "created", "source", ...}
    train.txt, val.txt  crops/<id>.png<TAB><text>   (confirmed and corrected lines only)
    crops/<id>.png      each line cut from its frame with its polygon (upright, RGB)
    detection/det_labels.txt   images/<frame><TAB>[{"transcription", "points"}, ...]
    detection/images/<container>_<blob>   the labelled frames as stored

A line's split comes from a hash of container, blob and line index (`val_percent` in
val), so a re-export keeps every line where it was. Only when no line (or every line)
hashes into val does the line nearest the boundary change sides, so a small set still
has both splits. Ignored and unlabelled lines stay out of the recognition files and are
"###" (do not care) in the detection labels.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from PIL import Image

from .crops import crop_quad, png
from .frames import Frame
from .labels import LabelError, LineLabel, Sidecar
from .storage import BlobTooLarge, FrameStore

log = logging.getLogger("reviewdashboard.export")
FORMAT, VERSION = "paddleocr-rec", 1
EXPORTED = ("confirmed", "corrected")
BUCKETS = 10_000


class ExportError(Exception):
    """Nothing to export or the output cannot be written (one readable line)."""


@dataclass(frozen=True)
class Summary:
    """What an export wrote."""

    out: Path
    train: int
    val: int
    ignored: int
    frames: int
    skipped: list[str] = field(default_factory=list)


def bucket(container: str, blob: str, index: int) -> int:
    """A stable number in [0, BUCKETS) for one line (SHA-256 of its key)."""
    digest = hashlib.sha256(f"{container}/{blob}#{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign_splits(keys: list[tuple[str, str, int]], val_percent: float) -> dict[tuple, str]:
    """ "train" or "val" per line key: by its hash bucket, with both splits non-empty when
    there are two lines or more (the line nearest the boundary changes sides)."""
    limit = val_percent / 100 * BUCKETS
    buckets = {key: bucket(*key) for key in keys}
    splits = {key: "val" if b < limit else "train" for key, b in buckets.items()}
    if len(keys) >= 2 and "val" not in splits.values():
        splits[min(keys, key=lambda k: (buckets[k], k))] = "val"
    elif len(keys) >= 2 and "train" not in splits.values():
        splits[max(keys, key=lambda k: (buckets[k], k))] = "train"
    return splits


def crop_id(container: str, blob: str, index: int) -> str:
    return f"{container}_{blob.removesuffix('.jpg')}_{index:03d}"


@dataclass
class _Frame:
    frame: Frame
    sidecar: Sidecar


async def _collect(store: FrameStore, containers: tuple[str, ...], skipped: list[str]) -> list:
    frames: list[_Frame] = []
    for container in containers:
        for name in await store.labelled(container):
            try:
                sidecar, _ = await store.labels(container, name)
                frame = await store.frame(container, name)
            except LabelError as exc:
                skipped.append(str(exc))
                continue
            except ResourceNotFoundError:  # the frame is gone (retention), its labels not
                skipped.append(f"{container}/{name}: labels of a frame no longer stored")
                continue
            if frame is not None and sidecar.lines:
                frames.append(_Frame(frame, sidecar))
    return frames


def _text_lines(frames: list[_Frame]) -> list[tuple[tuple[str, str, int], LineLabel]]:
    return [
        ((f.frame.container, f.frame.name, line.index), line)
        for f in frames
        for line in f.sidecar.lines
        if line.status in EXPORTED
    ]


def _det_entries(frame: Frame, sidecar: Sidecar) -> list[dict]:
    """Every box of the frame: its label's text, or "###" when ignored or unlabelled."""
    entries = []
    for index, box in enumerate(frame.boxes):
        line = sidecar.line(index)
        text = line.label if line is not None and line.status in EXPORTED else "###"
        points = line.polygon if line else [[box[i], box[i + 1]] for i in range(0, 8, 2)]
        entries.append({"transcription": text, "points": points})
    return entries


def _write_frame(
    root: Path, item: _Frame, data: bytes, splits: dict[tuple, str], rows: dict[str, list[str]]
) -> list[str]:
    """Crops and the detection entry of one frame; the lines it could not cut."""
    frame, skipped = item.frame, []
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
    except Exception as exc:  # a truncated JPEG can pass verify() and fail to decode
        return [f"{frame.container}/{frame.name}: not a decodable image ({type(exc).__name__})"]
    for line in item.sidecar.lines:
        key = (frame.container, frame.name, line.index)
        if key not in splits:
            continue
        crop = crop_quad(image, [(x, y) for x, y in line.polygon])
        if crop is None:
            skipped.append(f"{frame.container}/{frame.name} line {line.index}: empty polygon")
            continue
        path = f"crops/{crop_id(*key)}.png"
        (root / path).write_bytes(png(crop))
        rows[splits[key]].append(f"{path}\t{line.label}\n")
    stored = f"images/{frame.container}_{frame.name}"
    (root / "detection" / stored).write_bytes(data)
    entries = json.dumps(_det_entries(frame, item.sidecar), ensure_ascii=False)
    rows["det"].append(f"{stored}\t{entries}\n")
    return skipped


def _finish(root: Path, rows: dict[str, list[str]], info: dict) -> None:
    for split in ("train", "val"):
        (root / f"{split}.txt").write_text("".join(sorted(rows[split])), encoding="utf-8")
    det = "".join(sorted(rows["det"]))
    (root / "detection" / "det_labels.txt").write_text(det, encoding="utf-8")
    text = json.dumps(info, indent=2, sort_keys=True) + "\n"
    (root / "dataset.json").write_text(text, encoding="utf-8")


def _place(work: Path, out: Path, replace: bool) -> None:
    """Rename the finished `work` directory to `out` (replacing an old export if asked)."""
    if out.exists() and any(out.iterdir()) and not replace:
        raise ExportError(f"{out} exists and is not empty: choose a new folder or --replace")
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    work.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _prepare(out: Path, replace: bool) -> Path:
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is not a directory")
    if out.exists() and any(out.iterdir()) and not replace:
        raise ExportError(f"{out} exists and is not empty: choose a new folder or --replace")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise ExportError(f"cannot write next to {out}: {exc.strerror}") from None
    (work / "crops").mkdir()
    (work / "detection" / "images").mkdir(parents=True)
    return work


async def export(
    store: FrameStore,
    containers: tuple[str, ...],
    out: Path,
    val_percent: float = 10.0,
    replace: bool = False,
) -> Summary:
    """Write the dataset of every labelled line in `containers` to `out`; ExportError
    when there is no confirmed or corrected line yet."""
    skipped: list[str] = []
    frames = await _collect(store, containers, skipped)
    lines = _text_lines(frames)
    if not lines:
        raise ExportError(
            f"no confirmed or corrected lines in {', '.join(containers)}: label lines on a "
            "frame's page first"
        )
    splits = assign_splits([key for key, _ in lines], val_percent)
    out = Path(out).resolve()
    work = _prepare(out, replace)
    rows: dict[str, list[str]] = {"train": [], "val": [], "det": []}
    try:
        for item in frames:
            data = await _frame_bytes(store, item.frame, skipped)
            if data is not None:
                skipped += await asyncio.to_thread(_write_frame, work, item, data, splits, rows)
        info = _info(containers, val_percent, rows, len(frames))
        await asyncio.to_thread(_finish, work, rows, info)
        _place(work, out, replace)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    ignored = sum(line.status == "ignored" for f in frames for line in f.sidecar.lines)
    for reason in skipped:
        log.warning("export skipped %s", reason)
    return Summary(out, len(rows["train"]), len(rows["val"]), ignored, len(frames), skipped)


async def _frame_bytes(store: FrameStore, frame: Frame, skipped: list[str]) -> bytes | None:
    try:
        data = await store.image(frame.container, frame.name)
    except (BlobTooLarge, ResourceNotFoundError) as exc:
        reason = str(exc) if isinstance(exc, BlobTooLarge) else "deleted meanwhile"
        skipped.append(f"{frame.container}/{frame.name}: {reason}")
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception as exc:  # Pillow raises many types on damaged data
        skipped.append(f"{frame.container}/{frame.name}: not a readable image ({exc})")
        return None
    return data


def _info(containers: tuple[str, ...], val_percent: float, rows: dict, frames: int) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "reviewdashboard export-labels",
        "containers": list(containers),
        "val_percent": val_percent,
        "train": len(rows["train"]),
        "val": len(rows["val"]),
        "frames": frames,
    }
