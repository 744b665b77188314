"""The TensorRT engine cache: a serialised engine keyed by everything it depends on.

A cache file is one magic line, one JSON header line (the key, the payload's sha256 and
the FP16 check result) and the serialised engine. A file whose header does not match
the expected key is stale; one whose payload does not match its digest is corrupt;
either is rebuilt, with a log line saying why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAGIC = b"textdetector-trt-engine v1\n"


@dataclass(frozen=True)
class CacheKey:
    """What a built engine depends on: change any of it and the engine must be rebuilt."""

    model_sha256: str
    tensorrt_version: str
    compute_capability: str  # "8.7"
    precision: str  # "fp16" or "fp32"
    profile: dict[str, list[int]]
    fp16_min_iou: float | None = None  # FP16 engines only: the check they passed

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def file_name(self, model_stem: str) -> str:
        """Readable and unique: model, GPU, precision, TensorRT version, key digest."""
        cc = self.compute_capability.replace(".", "")
        return (
            f"{model_stem}.sm{cc}.{self.precision}.trt{self.tensorrt_version}."
            f"{self.digest()[:16]}.engine"
        )


@dataclass(frozen=True)
class CacheEntry:
    """A cache file's contents: the serialised engine and what the header says about it."""

    payload: bytes
    meta: dict[str, Any]


def write(path: Path, key: CacheKey, payload: bytes, meta: dict[str, Any] | None = None) -> None:
    """Write atomically (temporary file, then rename) so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "key": asdict(key),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "meta": meta or {},
    }
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with tmp.open("wb") as handle:
        handle.write(MAGIC)
        handle.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        handle.write(payload)
    os.replace(tmp, path)


def read(path: Path, key: CacheKey) -> CacheEntry | None:
    """The cached engine for `key`, or None (logged) when missing, stale or corrupt."""
    if not path.exists():
        log.info("no cached TensorRT engine at %s", path)
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("cannot read TensorRT engine cache %s (%s): rebuilding", path, exc)
        return None
    reason, entry = _parse(data, key)
    if entry is None:
        log.warning("TensorRT engine cache %s is %s: rebuilding", path, reason)
    return entry


def _parse(data: bytes, key: CacheKey) -> tuple[str, CacheEntry | None]:
    if not data.startswith(MAGIC):
        return "corrupt (not an engine cache file)", None
    line_end = data.find(b"\n", len(MAGIC))
    if line_end < 0:
        return "corrupt (truncated header)", None
    try:
        header = json.loads(data[len(MAGIC) : line_end])
        stored_key, digest = header["key"], header["payload_sha256"]
        meta = dict(header.get("meta", {}))
    except (ValueError, KeyError, TypeError):
        return "corrupt (unreadable header)", None
    if stored_key != json.loads(json.dumps(asdict(key))):
        changed = sorted(k for k in asdict(key) if stored_key.get(k) != asdict(key)[k])
        return f"stale (built for a different {', '.join(changed) or 'key'})", None
    payload = data[line_end + 1 :]
    if hashlib.sha256(payload).hexdigest() != digest:
        return "corrupt (engine bytes do not match their checksum)", None
    return "ok", CacheEntry(payload, meta)


def prune_stale(path: Path, key: CacheKey, model_stem: str) -> None:
    """Delete older engines of this model for the same GPU and precision (logged)."""
    cc = key.compute_capability.replace(".", "")
    for other in path.parent.glob(f"{model_stem}.sm{cc}.{key.precision}.*.engine"):
        if other != path:
            log.info("removing stale TensorRT engine %s (superseded by %s)", other.name, path.name)
            other.unlink(missing_ok=True)


def invalidate(path: Path, reason: str) -> None:
    """Delete a cache file the runtime refused (e.g. built by another TensorRT)."""
    log.warning("TensorRT refused the cached engine %s (%s): rebuilding", path, reason)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
