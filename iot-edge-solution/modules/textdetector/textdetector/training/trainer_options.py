"""The `train-rec` flags that tune the training (no torch needed to parse them)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

from ..errors import ConfigError

HELP = {
    "epochs": "passes over the train split at most",
    "max_steps": "optimiser steps at most; 0 = no limit",
    "batch_size": "crops per step",
    "lr": "peak AdamW learning rate (linear warm-up, cosine decay)",
    "weight_decay": "AdamW weight decay",
    "warmup": "share of the steps spent warming the learning rate up",
    "patience": "stop after this many epochs without a better val accuracy",
    "augment": "chance of each camera augmentation (perspective, blur, noise, JPEG, "
    "contrast) per crop; 0 = none",
    "freeze": "backbone stages kept as shipped (not trained): 0 none, 1 the stem, "
    "2 the stem and the first block stage, ... (fewer to train: faster steps)",
    "replay": "general-text line crops (rendered) mixed into each batch per domain crop, "
    "so the model keeps reading other text as it did; 0 = none",
    "keep": "weight of the distillation loss on them: how closely the fine-tuned model "
    "must keep the shipped model's per-step output there",
    "merge": "1: move the fine-tuned weights part of the way back to the shipped ones "
    "(WiSE-FT; the furthest that keeps 90 %% of the val gain over them), so other text "
    "reads as before; 0 = keep the fine-tuned weights",
    "seed": "random seed: the same seed and data train the same model",
    "threads": "CPU threads torch uses",
}


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


def add_options(parser: argparse.ArgumentParser) -> None:
    """One flag per training hyper-parameter, plus --resume, --add-chars and --json."""
    from .hyper import Hyper

    group = parser.add_argument_group("training")
    for f in fields(Hyper):
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            type=_positive(type(f.default)),
            default=f.default,
            metavar="N" if isinstance(f.default, int) else "X",
            help=f"{HELP[f.name]} (default %(default)s)",
        )
    group.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint beside OUTDIR"
    )
    group.add_argument(
        "--add-chars",
        action="store_true",
        help="grow the classifier for label characters the dictionary lacks "
        "(otherwise such a label is an error naming the character)",
    )
    group.add_argument("--json", action="store_true", help="also print the figures as JSON")


def hyper_of(args: argparse.Namespace) -> Any:
    """The Hyper of the parsed flags."""
    from .hyper import Hyper

    values = {f.name: getattr(args, f.name) for f in fields(Hyper)}
    for name in ("epochs", "batch_size", "threads"):
        if values[name] < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    return Hyper(**values)
