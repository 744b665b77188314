"""The detector's fine-tuning loop: DB shrink-map loss on labelled views, the shipped
model's own map kept where nothing is labelled (against forgetting)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..detector import preprocess
from .det_network import DetNetwork
from .det_targets import shrink_maps, training_view
from .hyper import DetHyper
from .trainer import schedule, seed_everything

NEGATIVES = 3  # hard background pixels per text pixel in the BCE (OHEM, as DB trains)
MIN_NEGATIVES = 1000
BACKGROUND_TEXT = 0.3  # the shipped model's map above this, unlabelled: not a negative


def to_blob(views: Sequence[np.ndarray]) -> torch.Tensor:
    """BGR uint8 views normalised as the module feeds the V6 policy's model
    (`detector.preprocess.to_blob`, mean = std = 0.5), NCHW."""
    blobs = [preprocess.to_blob(v, v.shape[:2], norm=preprocess.HALF) for v in views]
    return torch.from_numpy(np.concatenate(blobs))


def db_loss(pred: torch.Tensor, text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Balanced BCE (every text pixel, the hardest 3x as many background pixels) plus
    dice on the probability map (N, H, W)."""
    pred = pred.clamp(1e-6, 1 - 1e-6)
    bce = -(text * torch.log(pred) + (1 - text) * torch.log(1 - pred))
    positive, negative = text * mask, (1 - text) * mask
    count = int(positive.sum())
    hard = min(int(negative.sum()), max(count * NEGATIVES, MIN_NEGATIVES))
    hardest, _ = torch.topk((bce * negative).reshape(-1), hard)
    balanced = ((bce * positive).sum() + hardest.sum()) / (count + hard + 1e-6)
    overlap = (pred * text * mask).sum()
    dice = 1 - 2 * overlap / ((pred * mask).sum() + (text * mask).sum() + 1e-6)
    return balanced + dice


class DetTrainer:
    """Fine-tunes `net` from `shipped` (a frozen copy of the same weights)."""

    def __init__(self, net: DetNetwork, shipped: DetNetwork, hyper: DetHyper) -> None:
        seed_everything(hyper.seed, hyper.threads)
        self.net, self.shipped, self.hyper = net, shipped, hyper
        for parameter in shipped.parameters():
            parameter.requires_grad_(False)
        if hyper.freeze_backbone:
            for parameter in net.base.backbone.parameters():
                parameter.requires_grad_(False)
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.optimiser = torch.optim.AdamW(
            self.params, lr=hyper.lr, weight_decay=hyper.weight_decay
        )
        self.rng = np.random.default_rng(hyper.seed)
        self.factor = schedule(hyper, hyper.steps)  # warm-up, then cosine decay to 5 %
        self.losses: list[float] = []

    def batch(self, images: Sequence[tuple], count: int) -> tuple:
        """`count` views with their text maps and masks."""
        views, texts, masks = [], [], []
        for _ in range(count):
            image, polygons, ignore = images[int(self.rng.integers(len(images)))]
            side, short, augment = self.hyper.side, self.hyper.short_side, self.hyper.augment
            view, moved = training_view(image, polygons, side, short, self.rng, augment)
            text, mask = shrink_maps(moved, ignore, (side, side))
            views.append(view)
            texts.append(text)
            masks.append(mask)
        return to_blob(views), torch.from_numpy(np.stack(texts)), torch.from_numpy(np.stack(masks))

    def step(self, number: int, images: Sequence[tuple]) -> float:
        x, text, mask = self.batch(images, self.hyper.batch_size)
        with torch.no_grad():
            before = self.shipped(x)[:, 0]
        # text the image holds but nobody labelled is neither taught nor punished
        mask = mask * (1 - ((before > BACKGROUND_TEXT) & (text == 0)).float())
        pred = self.net(x)[:, 0]
        loss = db_loss(pred, text, mask)
        if self.hyper.keep > 0:
            loss = loss + self.hyper.keep * 10 * ((pred - before) ** 2 * (1 - text)).mean()
        for group in self.optimiser.param_groups:
            group["lr"] = self.hyper.lr * self.factor(number)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return float(loss.item())

    def fit(self, images, progress: Callable[[int, float], None] | None = None) -> float:
        """Run every step; returns the seconds taken."""
        start = time.perf_counter()
        for number in range(self.hyper.steps):
            self.losses.append(self.step(number, images))
            if progress is not None:
                progress(number, self.losses[-1])
        return time.perf_counter() - start
