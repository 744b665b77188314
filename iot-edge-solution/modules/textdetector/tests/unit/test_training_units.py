"""train-rec's torch-free parts: augmentation is seeded and shape-keeping, the gates'
rules, the training flags."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from textdetector.errors import ConfigError
from textdetector.training.augment import TRANSFORMS, augment
from textdetector.training.gate import Figure
from textdetector.training.trainer_options import add_options, hyper_of


def crop() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, (40, 160, 3), dtype=np.uint8)


def test_augmentation_is_seeded_and_keeps_the_shape() -> None:
    first = augment(crop(), np.random.default_rng(7), chance=1.0)
    again = augment(crop(), np.random.default_rng(7), chance=1.0)
    other = augment(crop(), np.random.default_rng(8), chance=1.0)
    assert first.shape == crop().shape and first.dtype == np.uint8
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.array_equal(augment(crop(), np.random.default_rng(7), chance=0.0), crop())
    for transform in TRANSFORMS:
        changed = transform(crop(), np.random.default_rng(3))
        assert changed.shape == crop().shape and not np.array_equal(changed, crop())


@pytest.mark.parametrize(
    ("stock", "tuned", "rule", "met"),
    [
        (0.58, 0.97, "beat", True),
        (0.58, 0.58, "beat", False),
        (0.90, 0.89, "keep", True),  # one point lost: allowed
        (0.90, 0.885, "keep", False),
        (0.90, 0.95, "keep", True),
    ],
)
def test_gate_rules(stock: float, tuned: float, rule: str, met: bool) -> None:
    figure = Figure("x", stock, tuned, rule)
    assert figure.met is met
    assert figure.line().endswith("MET" if met else "MISSED")


def test_training_flags_parse_into_hyper_parameters() -> None:
    parser = argparse.ArgumentParser()
    add_options(parser)
    hyper = hyper_of(parser.parse_args(["--epochs", "3", "--lr", "0.001", "--seed", "5"]))
    assert (hyper.epochs, hyper.lr, hyper.seed) == (3, 0.001, 5)
    assert hyper.total_steps(100) == 3 * 7  # batches of 16
    assert hyper_of(parser.parse_args(["--max-steps", "4"])).total_steps(100) == 4
    with pytest.raises(ConfigError, match="--batch-size must be at least 1"):
        hyper_of(parser.parse_args(["--batch-size", "0"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["--lr", "-1"])


def test_replay_lines_are_deterministic_labelled_general_text() -> None:
    from textdetector.training.replay import general_lines

    crops, texts = general_lines(24, seed=3)
    again, same = general_lines(24, seed=3)
    assert texts == same and all(np.array_equal(a, b) for a, b in zip(crops, again))
    assert texts != general_lines(24, seed=4)[1]
    joined = "".join(texts)
    assert any(c.islower() for c in joined) and any(c.isupper() for c in joined)
    assert any(c.isdigit() for c in joined) and " " in joined
    assert all(32 <= ord(c) < 127 for c in joined)
    assert all(c.ndim == 3 and c.shape[0] >= 16 for c in crops)
