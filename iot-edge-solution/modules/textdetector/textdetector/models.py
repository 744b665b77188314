"""The pinned PP-OCRv4 model files and their verification."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

SETUP_HINT = "run `make setup` at the repository root (or `python tools/fetch_models.py`)"

# Pinned registry package the models are taken from (Apache-2.0).
MODEL_PACKAGE = "rapidocr-onnxruntime"
MODEL_PACKAGE_VERSION = "1.4.4"


@dataclass(frozen=True)
class ModelFile:
    """One model file inside the pinned package, with its size and checksum."""

    name: str
    size: int
    sha256: str

    @property
    def member(self) -> str:
        return f"rapidocr_onnxruntime/models/{self.name}"


DET_MODEL = ModelFile(
    "ch_PP-OCRv4_det_infer.onnx", 4_745_517,
    "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9")
REC_MODEL = ModelFile(
    "ch_PP-OCRv4_rec_infer.onnx", 10_857_958,
    "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b")
CLS_MODEL = ModelFile(
    "ch_ppocr_mobile_v2.0_cls_infer.onnx", 585_532,
    "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c")
MODELS = (DET_MODEL, REC_MODEL, CLS_MODEL)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_for(path: Path) -> ModelFile | None:
    """The pinned model this file name stands for, if any."""
    return next((m for m in MODELS if m.name == path.name), None)


def verify_model(path: Path) -> None:
    """Raise `ModelError` unless `path` is a readable model; pinned names must match exactly."""
    if not path.exists():
        raise ModelError(f"model file not found: {path}; {SETUP_HINT}")
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"model file is empty: {path}; delete it and {SETUP_HINT}")
    pinned = pinned_for(path)
    if pinned is None:
        return
    if size != pinned.size:
        raise ModelError(f"model file is truncated or wrong ({size} bytes, expected "
                         f"{pinned.size}): {path}; delete it and {SETUP_HINT}")
    if sha256_of(path) != pinned.sha256:
        raise ModelError(f"model file checksum mismatch (corrupt or replaced): {path}; "
                         f"delete it and {SETUP_HINT}")
