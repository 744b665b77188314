"""`train-det` end to end: read the labels, fine-tune, export, prove the export, measure
both models on the val images through the module's own detector, and move the folder
into place only when the fine-tuned model finds the val text better (nothing half-written
at --out)."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..detector.policy import DET_DIR_MODEL, DET_MANIFEST
from ..errors import KitError
from ..models import sha256_of, verify_model
from .det_dataset import DetSample, read_det_dataset, read_image
from .det_score import Score, score_model
from .run import check_out_dir

log = logging.getLogger(__name__)
DET_FORMAT = "textdetector-det"  # manifest.json's "format" (train-rec's: textdetector-rec)
EXPORT_TOLERANCE = 1e-3  # largest probability difference torch vs ONNX Runtime
# Merge weights tried, smallest first: a detector keeps most of its domain gain much
# nearer the shipped weights than the recogniser does (docs/training.md)
DET_ALPHAS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class GateError(KitError):
    """The fine-tuned detector did no better on the val images: nothing was written."""

    exit_code = 1


@dataclass(frozen=True)
class DetJob:
    """What to train on, from what, and where the model goes."""

    data: Path
    out: Path
    base: Path

    @property
    def staging(self) -> Path:
        return self.out.parent / f".{self.out.name}.partial"


def training_images(samples: list[DetSample]) -> list[tuple]:
    """(image, polygons, ignore) per sample."""
    return [(read_image(s), list(s.polygons), list(s.ignore)) for s in samples]


def manifest_head(job: DetJob) -> dict[str, Any]:
    """What the model was fine-tuned from and on (checksums read once per run)."""
    from .det_dataset import labels_file

    labels = hashlib.sha256(labels_file(job.data).read_bytes()).hexdigest()
    return {
        "format": DET_FORMAT,
        "version": 1,
        "base_model": job.base.name,
        "base_sha256": sha256_of(job.base),
        "dataset": {"path": str(job.data), "labels_sha256": labels},
    }


def write_manifest(folder: Path, head: dict[str, Any], **fields: Any) -> Path:
    path = folder / DET_MANIFEST
    text = json.dumps({**head, **fields}, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def parity(net: Any, path: Path, val: list[tuple]) -> float:
    """Largest difference between `net`'s maps and the ONNX file's on val views."""
    from .det_network import map_difference
    from .det_targets import training_view
    from .det_trainer import to_blob

    rng = np.random.default_rng(0)
    worst = 0.0
    for image, polygons, _ in val[:4]:
        view, _ = training_view(image, polygons, 320, 736, rng, 0.0)
        worst = max(worst, map_difference(net, path, to_blob([view]).numpy()))
    return worst


def export_and_check(net: Any, folder: Path, val: list[tuple]) -> float:
    """Export `net` to folder/model.onnx; its maps must equal torch's on the val views."""
    from .det_network import export_det

    worst = parity(net, export_det(net, folder / DET_DIR_MODEL), val)
    if worst > EXPORT_TOLERANCE:
        raise KitError(f"the exported detector differs from the trained one by {worst:.2g}")
    return worst


def train_det(job: DetJob, hyper: Any, progress: Any = None) -> dict[str, Any]:
    """Fine-tune, merge back, export, check and gate; returns the manifest at --out."""
    from .det_network import det_architecture_of, det_from_onnx
    from .det_trainer import DetTrainer

    check_out_dir(job.out, job.data)
    verify_model(job.base)
    det_architecture_of(job.base)
    train, val = read_det_dataset(job.data)
    images, val_images = training_images(train), training_images(val)
    net, shipped = det_from_onnx(job.base), det_from_onnx(job.base)
    base_difference = parity(net, job.base, val_images)
    if base_difference > EXPORT_TOLERANCE:  # the weights did not land where they belong
        raise KitError(f"the torch detector differs from {job.base.name} by {base_difference:.2g}")
    trainer = DetTrainer(net, shipped, hyper)
    seconds = trainer.fit(images, progress)
    shutil.rmtree(job.staging, ignore_errors=True)
    job.staging.mkdir()
    try:
        head = manifest_head(job)
        write_manifest(job.staging, head, hyper=asdict(hyper))  # the policy reads its base
        stock = score_model(job.base, val)
        merge = merged(net, shipped, job.staging, val, stock, hyper.alpha) if hyper.merge else {}
        difference = export_and_check(net, job.staging, val_images)
        tuned = score_model(job.staging / DET_DIR_MODEL, val)
        figures = _figures(stock, tuned, len(train), len(val), seconds, trainer.losses)
        manifest = write_manifest(
            job.staging,
            head,
            hyper=asdict(hyper),
            figures=figures,
            merge=merge,
            base_difference=base_difference,
            export_difference=difference,
        )
        if tuned.f1 <= stock.f1:
            raise GateError(
                f"the fine-tuned detector found the val text no better (F1 {tuned.f1:.3f} "
                f"against the shipped {stock.f1:.3f}): nothing written at {job.out}"
            )
        if job.out.exists():
            job.out.rmdir()
        job.staging.rename(job.out)
    finally:
        shutil.rmtree(job.staging, ignore_errors=True)
    log.info("wrote %s", job.out)
    return dict(json.loads((job.out / manifest.name).read_text(encoding="utf-8")))


def merged(
    net: Any, shipped: Any, folder: Path, val: list[DetSample], stock: Score, alpha: float
) -> dict:
    """Move `net` back towards the shipped weights (merge.py, WiSE-FT): by `alpha`, or
    as far as its val F1 keeps 90 % of the gain when `alpha` is 0. Fine-tuned on a
    narrow domain alone, the detector loses text elsewhere. Returns the alpha and every
    try."""
    from .det_network import export_det
    from .merge import choose, interpolate

    def f1() -> float:
        return score_model(export_det(net, folder / DET_DIR_MODEL), val).f1

    if alpha:
        tuned = {k: v.detach().clone() for k, v in net.state_dict().items()}
        net.load_state_dict(interpolate(tuned, shipped.state_dict(), alpha))
        return {"alpha": alpha, "tries": [{"alpha": alpha, "val": f1()}]}
    chosen, tries = choose(net, shipped.state_dict(), f1, stock.f1, DET_ALPHAS)
    return {"alpha": chosen, "tries": tries}


def _figures(
    stock: Score, tuned: Score, train: int, val: int, seconds: float, losses: list[float]
) -> dict[str, Any]:
    return {
        "train_images": train,
        "val_images": val,
        "steps": len(losses),
        "train_seconds": round(seconds, 1),
        "loss_first": round(float(np.mean(losses[:10])), 4) if losses else None,
        "loss_last": round(float(np.mean(losses[-10:])), 4) if losses else None,
        "val_stock": asdict(stock),
        "val_tuned": asdict(tuned),
    }
