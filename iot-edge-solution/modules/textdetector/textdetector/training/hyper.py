"""The training hyper-parameters (plain data: parsed without torch)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Hyper:
    """What shapes the optimisation (a resumed run must use the same)."""

    epochs: int = 4
    max_steps: int = 0  # 0: no limit
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 1e-4
    warmup: float = 0.05  # share of the steps
    patience: int = 2  # epochs without a better val accuracy
    freeze: int = 4  # backbone stages kept as shipped: 0 none, 1 the stem, 2 + blocks2 ...
    augment: float = 0.5
    replay: float = 1.0  # general-text crops mixed in per domain crop (against forgetting)
    keep: float = 10.0  # weight of the shipped model's readings of them (distillation)
    merge: int = 1  # 1: merge the weights back towards the shipped ones (merge.py); 0: not
    seed: int = 0
    threads: int = 2

    def total_steps(self, samples: int) -> int:
        steps = self.epochs * math.ceil(samples / self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps


@dataclass(frozen=True)
class DetHyper:
    """What shapes the detector's optimisation."""

    steps: int = 300
    batch_size: int = 4
    side: int = 640  # training views are side x side
    short_side: int = 736  # images scaled so (about) this is their short side (the policy's)
    lr: float = 1e-4
    weight_decay: float = 1e-4
    warmup: float = 0.07
    freeze_backbone: bool = True
    keep: float = 1.0  # weight of the shipped model's map outside labelled text
    augment: float = 0.4
    merge: int = 1  # 1: merge the weights back towards the shipped ones (merge.py); 0: not
    alpha: float = 0.0  # the merge's weight on the fine-tuned side; 0: chosen on val
    seed: int = 0
    threads: int = 2
