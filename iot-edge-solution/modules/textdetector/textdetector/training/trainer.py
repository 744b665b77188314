"""The fine-tuning loop: CTC loss, AdamW with warm-up and cosine decay, early stopping on
val exact-line accuracy, a tqdm progress bar and resumable checkpoints."""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import KitError
from ..recognizer.ctc import SPACE_MIN, greedy_decode
from .augment import augment
from .batches import MAX_TRAIN_WIDTH, by_width, model_input
from .hyper import DetHyper, Hyper
from .labels import Dictionary
from .network import Recogniser

CHECKPOINT = "checkpoint.pt"
log = logging.getLogger(__name__)


class ResumeError(KitError):
    """A checkpoint is missing, stale or in the way (one line says which)."""

    exit_code = 2


@dataclass
class State:
    """Where the run is: saved after every epoch."""

    epoch: int = 0
    step: int = 0
    best: float = -1.0
    best_epoch: int = 0
    stale: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Split:
    """Crops in memory with their texts."""

    crops: list[np.ndarray]
    texts: list[str]


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def schedule(hyper: Hyper | DetHyper, total: int) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up, then cosine decay to 5 %."""
    warm = max(1, int(total * hyper.warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        done = min(1.0, (step - warm) / max(1, total - warm))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done))

    return factor


def best_device() -> torch.device:
    """A CUDA GPU when torch sees one, else the CPU (training needs no GPU)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_of(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


def predict(net: Recogniser, crops: Sequence[np.ndarray], batch: int = 32) -> list[np.ndarray]:
    """Per-crop softmax probabilities (steps, classes), batched as the recogniser does."""
    out: list[np.ndarray] = [np.zeros(0)] * len(crops)
    with torch.no_grad():
        for part in by_width(crops, batch):
            x = torch.from_numpy(model_input([crops[i] for i in part])).to(device_of(net))
            probs = torch.softmax(net(x), dim=2).cpu().numpy()
            for i, row in zip(part, probs):
                out[int(i)] = row
    return out


def read(net: Recogniser, crops: Sequence[np.ndarray], dictionary: Dictionary) -> list[str]:
    """Greedy CTC texts (word spaces as REC_SPACES=auto puts them back)."""
    labels = dictionary.labels
    return [greedy_decode(p[None], labels, SPACE_MIN)[0][0] for p in predict(net, crops)]


def exact(texts: Sequence[str], truth: Sequence[str]) -> float:
    return sum(a == b for a, b in zip(texts, truth)) / max(len(truth), 1)


class Trainer:
    """Fine-tunes `net` on `train`, keeping the weights of the best val accuracy."""

    def __init__(
        self,
        net: Recogniser,
        dictionary: Dictionary,
        train: Split,
        val: Split,
        hyper: Hyper,
        work: Path,
        fingerprint: dict[str, Any],
        replay: Split | None = None,
        teacher: Recogniser | None = None,
    ) -> None:
        self.net, self.dictionary, self.train, self.val = net, dictionary, train, val
        self.hyper, self.work, self.fingerprint = hyper, work, fingerprint
        self.total = hyper.total_steps(len(train.crops))
        self.optimizer = torch.optim.AdamW(
            [p for p in net.parameters() if p.requires_grad],
            lr=hyper.lr,
            weight_decay=hyper.weight_decay,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, schedule(hyper, self.total)
        )
        self.ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
        self.targets = [torch.tensor(dictionary.encode(t), dtype=torch.long) for t in train.texts]
        self.replay = replay or Split([], [])
        self.teacher = teacher
        self.state = State()
        self.best_weights = copy.deepcopy(net.state_dict())

    # checkpoints -------------------------------------------------------------
    @property
    def checkpoint(self) -> Path:
        return self.work / CHECKPOINT

    def save(self) -> None:
        payload = {
            "fingerprint": self.fingerprint,
            "hyper": asdict(self.hyper),
            "state": asdict(self.state),
            "net": self.net.state_dict(),
            "best": self.best_weights,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }
        partial = self.checkpoint.with_suffix(".partial")
        torch.save(payload, partial)
        os.replace(partial, self.checkpoint)

    def restore(self) -> None:
        if not self.checkpoint.is_file():
            raise ResumeError(f"--resume: no checkpoint at {self.checkpoint}")
        try:
            payload = torch.load(
                self.checkpoint, map_location=device_of(self.net), weights_only=False
            )
        except Exception as exc:  # a torn or foreign file: one line, not a traceback
            raise ResumeError(f"--resume: {self.checkpoint} is not readable ({exc})") from None
        if payload.get("fingerprint") != self.fingerprint:
            raise ResumeError(
                f"--resume: {self.checkpoint} was written for another dataset, base model, "
                "seed or dictionary; delete it to start afresh"
            )
        self.net.load_state_dict(payload["net"])
        self.best_weights = payload["best"]
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.state = State(**payload["state"])
        log.info(
            "resuming at epoch %d (step %d) from %s",
            self.state.epoch + 1,
            self.state.step,
            self.checkpoint,
        )

    # the loop ------------------------------------------------------------------
    def validate(self) -> float:
        return exact(read(self.net, self.val.crops, self.dictionary), self.val.texts)

    def distillation(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """KL(shipped model || this one) per output step on general text, over the shipped
        model's classes (added characters aside): it keeps reading such text as before,
        spaces and letter shapes alike (learning without forgetting)."""
        assert self.teacher is not None
        with torch.no_grad():
            reference = torch.log_softmax(self.teacher(x), dim=2)
        classes = reference.shape[2]
        ours = torch.log_softmax(logits, dim=2)
        if ours.shape[2] != classes:  # grown: new rows sit before the space (the last)
            keep = torch.cat([torch.arange(classes - 1), torch.tensor([ours.shape[2] - 1])])
            ours = ours[:, :, keep.to(ours.device)]
        kl = (reference.exp() * (reference - ours)).sum(dim=2)
        return kl.mean()

    def step(self, indices: np.ndarray, rng: np.random.Generator) -> float:
        crops = [augment(self.train.crops[i], rng, self.hyper.augment) for i in indices]
        targets = [self.targets[i] for i in indices]
        mixed = round(len(indices) * self.hyper.replay) if self.replay.crops else 0
        for i in rng.choice(len(self.replay.crops), mixed) if mixed else ():
            crops.append(augment(self.replay.crops[i], rng, self.hyper.augment))
        x = torch.from_numpy(model_input(crops, MAX_TRAIN_WIDTH)).to(device_of(self.net))
        logits = self.net(x)
        domain = torch.log_softmax(logits[: len(targets)], dim=2).permute(1, 0, 2)
        loss = self.ctc(
            domain.cpu(),
            torch.cat(targets),
            torch.full((len(targets),), domain.shape[0], dtype=torch.long),
            torch.tensor([len(t) for t in targets], dtype=torch.long),
        )
        if mixed and self.teacher is not None:
            loss = loss + self.hyper.keep * self.distillation(
                x[len(targets) :], logits[len(targets) :]
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
        self.optimizer.step()
        self.scheduler.step()
        self.state.step += 1
        return float(loss.detach())

    def epoch(self, bar: Any) -> float:
        """One pass over the shuffled train split; mean loss."""
        rng = np.random.default_rng([self.hyper.seed, self.state.epoch])
        order = rng.permutation(len(self.train.crops))
        losses = []
        for start in range(0, len(order), self.hyper.batch_size):
            if self.state.step >= self.total:
                break
            losses.append(self.step(order[start : start + self.hyper.batch_size], rng))
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", val=f"{max(self.state.best, 0):.3f}")
        return float(np.mean(losses)) if losses else float("nan")

    def judge(self, loss: float) -> None:
        """Val accuracy after an epoch: keep the best weights, count stale epochs."""
        accuracy = self.validate()
        self.state.history.append(
            {"epoch": self.state.epoch, "step": self.state.step, "loss": loss, "val": accuracy}
        )
        if accuracy > self.state.best:
            self.state.best, self.state.best_epoch, self.state.stale = (
                accuracy,
                self.state.epoch,
                0,
            )
            self.best_weights = copy.deepcopy(self.net.state_dict())
        else:
            self.state.stale += 1

    def done(self) -> bool:
        return (
            self.state.epoch >= self.hyper.epochs
            or self.state.step >= self.total
            or self.state.stale >= self.hyper.patience
            or self.state.best >= 1.0
        )

    def run(self, resume: bool = False) -> State:
        """Train until done (or from the last checkpoint), then load the best weights."""
        from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed

        if resume:
            self.restore()
        elif not self.state.history:
            self.judge(float("nan"))  # the shipped weights' val accuracy: the figure to beat
        with tqdm(
            total=self.total,
            initial=self.state.step,
            desc="train-rec",
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
        ) as bar:
            bar.set_postfix(val=f"{max(self.state.best, 0):.3f}")
            while not self.done():
                self.state.epoch += 1
                loss = self.epoch(bar)
                self.judge(loss)
                self.save()
        self.net.load_state_dict(self.best_weights)
        return self.state
