"""The trainer image (Dockerfile.train.amd64), built with podman by `scripts/build-images.sh
trainer` (what `make images` runs) from a copy of the repository as a fresh clone has it,
then run as a real container: its help, a bad dataset, and a short `train-rec` on a small
generated dataset mounted read-only, writing the model to a mounted folder. No GPU here:
the image's PyTorch runs on the CPU. Skips where podman cannot run containers (fails under
CI=true)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from image_support import REPORT, Podman, copy_checkout, podman_runs_containers
from inner_loop_support import MODULE_DIR, need, run, strict_json

pytestmark = [pytest.mark.images, pytest.mark.slow]

ENTRYPOINT = ["python", "/app/main.py", "train-rec"]
BUDGET_MB = 8000  # PyTorch from the registry carries its CUDA libraries (GPU when present)
WORDS = ("GATE", "EXIT", "A7", "B12", "DOCK", "LANE", "C3", "BAY")


@dataclass
class Trainer:
    podman: Podman
    tag: str


def trainer_tag() -> str:
    version = strict_json(MODULE_DIR / "module.json")["image"]["tag"]["version"]
    return f"localhost:5000/textdetector-train:{version}-amd64"


@pytest.fixture(scope="module")
def trainer(tmp_path_factory) -> Trainer:
    usable, reason = podman_runs_containers()
    need(usable, reason)
    need(shutil.which("mmdebstrap") is not None, "mmdebstrap missing: 60-images.sh")
    checkout = copy_checkout(tmp_path_factory.mktemp("checkout"))
    start = time.monotonic()
    done = run(
        ["bash", "scripts/build-images.sh", "--arch", "amd64", "trainer"],
        cwd=checkout,
        timeout=3600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    REPORT.append(f"build-images.sh trainer: {time.monotonic() - start:.0f} s")
    return Trainer(Podman(checkout), trainer_tag())


def line_crop(text: str, rng: np.random.Generator) -> np.ndarray:
    width = 24 + 22 * len(text)
    crop = np.full((40, width, 3), int(rng.integers(200, 250)), np.uint8)
    cv2.putText(crop, text, (6, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
    return crop


def small_dataset(root: Path, train: int = 24, val: int = 8) -> Path:
    """A dataset in the export's layout: crops/, train.txt, val.txt, dataset.json."""
    rng = np.random.default_rng(7)
    (root / "crops").mkdir(parents=True)
    for split, count in (("train", train), ("val", val)):
        rows = []
        for i in range(count):
            text = WORDS[int(rng.integers(len(WORDS)))]
            path = f"crops/{split}-{i:03d}.png"
            cv2.imwrite(str(root / path), line_crop(text, rng))
            rows.append(f"{path}\t{text}\n")
        (root / f"{split}.txt").write_text("".join(rows), encoding="utf-8")
    info = {"format": "paddleocr-rec", "version": 1, "created": "", "source": "test"}
    (root / "dataset.json").write_text(json.dumps(info))
    return root


def test_trainer_image_config_and_size(trainer):
    done = trainer.podman("image", "inspect", trainer.tag, timeout=60)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)[0]["Config"]
    assert config["User"] not in ("", "0", "root")
    assert config["Entrypoint"] == ENTRYPOINT
    size_mb = int(trainer.podman.inspect(trainer.tag, "{{.Size}}")) / 1e6
    REPORT.append(f"{trainer.tag}: {size_mb:.0f} MB (budget {BUDGET_MB} MB)")
    assert size_mb <= BUDGET_MB


def test_help_and_a_bad_dataset_offline(trainer, tmp_path):
    helped = trainer.podman("run", "--rm", "--network", "none", trainer.tag, "--help")
    assert helped.returncode == 0 and "--data" in helped.stdout, helped.stderr[-2000:]
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = trainer.podman(
        "run", "--rm", "--network", "none", "-v", f"{empty}:/data:ro", trainer.tag,
        "--data", "/data", "--out", "/tmp/model",
    )  # fmt: skip
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr[-2000:]
    assert "train.txt" in bad.stderr


def test_short_training_writes_the_model_to_a_mounted_folder(trainer, tmp_path):
    data = small_dataset(tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the trainer runs as uid 1000
    start = time.monotonic()
    done = trainer.podman(
        "run", "--rm", "--network", "none", "-v", f"{data}:/data:ro", "-v", f"{out}:/out:rw",
        trainer.tag, "--data", "/data", "--out", "/out/model", "--max-steps", "4",
        "--epochs", "1", "--batch-size", "8",
        timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    REPORT.append(f"train-rec in the container, 4 steps: {time.monotonic() - start:.0f} s")
    assert (out / "model" / "model.onnx").stat().st_size > 1_000_000
    assert (out / "model" / "manifest.json").is_file()
