"""`train-rec` end to end: check the inputs, fine-tune, export, prove the export, and
move the finished model directory into place (nothing half-written at --out)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models import sha256_of, verify_model
from .architectures import architecture_of
from .dataset import Dataset, load_dataset, read_crop
from .labels import Dictionary, needed_characters

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
REPLAY_LINES = 512  # general-text crops rendered for --replay


@dataclass(frozen=True)
class Job:
    """What to train on, from what, and where the model goes."""

    data: Path
    out: Path
    base: Path
    add_chars: bool = False
    resume: bool = False

    @property
    def work(self) -> Path:
        """Checkpoints, beside --out: kept until the run finishes (for --resume)."""
        return self.out.parent / f".{self.out.name}.train"

    @property
    def staging(self) -> Path:
        return self.out.parent / f".{self.out.name}.partial"


def base_dictionary(base: Path) -> Dictionary:
    """The shipped model's dictionary (its `character` metadata)."""
    from ..engines.base import model_metadata
    from ..recognizer.ctc import CHARACTER_KEY

    symbols = model_metadata(base).get(CHARACTER_KEY, "")
    if not symbols:
        raise ConfigError(f"{base.name} carries no '{CHARACTER_KEY}' dictionary")
    return Dictionary.of_symbols(symbols.splitlines())


def check_out_dir(out: Path, data: Path) -> None:
    """--out must be new (or an empty directory) and not inside the dataset."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} already exists and is not empty")
    if out.resolve().is_relative_to(data.resolve()):
        raise ConfigError("--out must not be inside the dataset directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out: parent directory {out.parent} does not exist")


def check_out(job: Job) -> None:
    """--out as `check_out_dir` wants it, and no interrupted run's checkpoints unless
    --resume."""
    check_out_dir(job.out, job.data)
    if job.work.exists() and not job.resume:
        raise ConfigError(
            f"an interrupted run left checkpoints in {job.work}: pass --resume to continue "
            "it, or delete that directory to start afresh"
        )


def prepare(job: Job) -> tuple[Dataset, Dictionary, list[str]]:
    """Every input check that needs no torch: the dataset, its characters, --out."""
    check_out(job)
    architecture_of(job.base)
    verify_model(job.base)
    dataset = load_dataset(job.data)
    dictionary = base_dictionary(job.base)
    added = needed_characters(dataset, dictionary, job.add_chars)
    return dataset, dictionary.grown(added), added


def labels_digest(dataset: Dataset) -> str:
    digest = hashlib.sha256()
    for name in ("train", "val"):
        digest.update((dataset.root / f"{name}.txt").read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def staged(job: Job) -> Iterator[Path]:
    """A fresh staging directory beside --out, renamed to --out on success, removed
    on any failure."""
    shutil.rmtree(job.staging, ignore_errors=True)
    job.staging.mkdir()
    try:
        yield job.staging
        if job.out.exists():
            job.out.rmdir()  # empty (check_out)
        job.staging.rename(job.out)
    finally:
        shutil.rmtree(job.staging, ignore_errors=True)


def split(dataset: Dataset, name: str) -> Any:
    """A split's crops decoded into memory, with their texts."""
    from .trainer import Split

    samples = dataset.split(name)
    return Split([read_crop(dataset.image_path(s)) for s in samples], [s.text for s in samples])


def fingerprint(job: Job, dataset: Dataset, added: list[str], hyper: Any) -> dict[str, Any]:
    """What a checkpoint must match to be resumed."""
    return {
        "base_sha256": sha256_of(job.base),
        "labels_sha256": labels_digest(dataset),
        "added": added,
        "seed": hyper.seed,
        "batch_size": hyper.batch_size,
        "lr": hyper.lr,
        "freeze": hyper.freeze,
        "replay": hyper.replay,
        "keep": hyper.keep,
    }


def figures(state: Any, seconds: float, final: float) -> dict[str, Any]:
    """The run's figures; `val_exact` is the exported model's (after the merge)."""
    return {
        "val_exact_stock": state.history[0]["val"] if state.history else None,
        "val_exact": final,
        "val_exact_fine_tuned": state.best,
        "best_epoch": state.best_epoch,
        "epochs": state.epoch,
        "steps": state.step,
        "train_seconds": round(seconds, 1),
        "history": state.history,
    }


def manifest_of(job: Job, dataset: Dataset, prints: dict[str, Any], **fields: Any) -> dict:
    """manifest.json: the base model, the dataset, and what `fields` add."""
    return {
        "format": "textdetector-rec",
        "version": 1,
        "base_model": job.base.name,
        "base_sha256": prints["base_sha256"],
        "architecture": architecture_of(job.base),
        "added_characters": prints["added"],
        "dataset": {
            "path": str(job.data),
            "labels_sha256": prints["labels_sha256"],
            "train": len(dataset.train),
            "val": len(dataset.val),
            "info": dataset.info,
        },
        **fields,
    }


def train_rec(job: Job, hyper: Any) -> dict[str, Any]:
    """Fine-tune, export and check; returns the manifest written beside the model."""
    dataset, dictionary, added = prepare(job)
    started = time.monotonic()
    import torch

    from . import export, merge, network, replay, trainer

    trainer.seed_everything(hyper.seed, hyper.threads)
    net = network.from_onnx(job.base)
    val = split(dataset, "val")
    base_parity = network.check_parity(net, job.base, val.crops[:16])
    log.info("torch = ONNX Runtime within %.1e before training", base_parity["max_abs_diff"])
    teacher = copy.deepcopy(net)  # the shipped model, for the distillation on general text
    teacher.requires_grad_(False)
    network.grow_classes(net, len(added))
    network.freeze(net, hyper.freeze)
    net.to(trainer.best_device())
    prints = fingerprint(job, dataset, added, hyper)
    job.work.mkdir(exist_ok=True)
    general = trainer.Split(*replay.general_lines(REPLAY_LINES, hyper.seed))
    train = split(dataset, "train")
    teacher.to(trainer.best_device())
    run = trainer.Trainer(net, dictionary, train, val, hyper, job.work, prints, general, teacher)
    state = run.run(resume=job.resume)
    alpha, tries = 1.0, [{"alpha": 1.0, "val": state.best}]
    if hyper.merge:
        alpha, tries = merge.choose(
            net, teacher.state_dict(), run.validate, state.history[0]["val"]
        )
    final = next(t["val"] for t in tries if t["alpha"] == alpha)
    seconds = time.monotonic() - started
    net.to("cpu")  # the export and its check run on the CPU, as the module does
    probs = trainer.predict(net, val.crops)
    with staged(job) as folder:
        model = export.export_onnx(net, dictionary, folder / export.MODEL_FILE)
        manifest = manifest_of(
            job,
            dataset,
            prints,
            model=export.MODEL_FILE,
            model_sha256=sha256_of(model),
            dictionary_size=len(dictionary.symbols),
            figures=figures(state, seconds, final),
            merge={"alpha": alpha, "tries": tries},
            base_parity=base_parity,
            export_check=export.check_export(model, probs, val.crops),
            hyper=asdict(hyper),
            torch=torch.__version__,
        )
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (folder / MANIFEST).write_text(text, encoding="utf-8")
    shutil.rmtree(job.work, ignore_errors=True)
    return manifest
