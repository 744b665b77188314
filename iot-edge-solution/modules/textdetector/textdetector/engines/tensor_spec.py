"""TensorSpec of the task-independent engine interface, until `base.py` carries it.

Delete this file once `engines/base.py` defines `TensorSpec` and `run_single`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: its name, shape (None = dynamic) and numpy dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


def run_single(engine, array: np.ndarray) -> np.ndarray:
    """One-input/one-output convenience."""
    return engine.run({engine.inputs[0].name: array})[engine.outputs[0].name]
