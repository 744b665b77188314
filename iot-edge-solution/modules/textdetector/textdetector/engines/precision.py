"""Precision policy: FP16 only where the GPU is fast at it and its outputs pass a check.

What "agree" means belongs to the task: the detector passes a check that compares
post-processed boxes (see detector/fp16_check.py); engines only apply the verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .base import RunFn

log = logging.getLogger(__name__)

# Compute capabilities with slow FP16 arithmetic (Maxwell desktop, Pascal consumer GPUs).
SLOW_FP16 = {(5, 0), (5, 2), (6, 1)}


@dataclass(frozen=True)
class Agreement:
    """How a reduced-precision engine's results compare with FP32's: a score in [0, 1]."""

    score: float
    summary: str

    def accepted(self, minimum: float) -> bool:
        return self.score >= minimum


# Compares FP32 with FP16 runs of the same model; None when it has nothing to compare on.
PrecisionCheck = Callable[[RunFn, RunFn], Agreement | None]


def fast_fp16_by_capability(major: int, minor: int) -> bool:
    """NVIDIA's table: native fast FP16 from 5.3 (Jetson TX1) on, except 6.1."""
    return (major, minor) >= (5, 3) and (major, minor) not in SLOW_FP16


def has_fast_fp16(builder: object, capability: tuple[int, int]) -> bool:
    """`builder.platform_has_fast_fp16` where TensorRT still offers it, else the table."""
    flag = getattr(builder, "platform_has_fast_fp16", None)
    if isinstance(flag, bool):
        return flag
    return fast_fp16_by_capability(*capability)


def choose_precision(requested: str, fast_fp16: bool) -> tuple[str, str]:
    """(precision to build first, why). FP16 is never chosen on a GPU without fast FP16."""
    if requested == "fp32":
        return "fp32", "TRT_PRECISION=fp32"
    if not fast_fp16:
        if requested == "fp16":
            log.warning("TRT_PRECISION=fp16 but this GPU has no fast FP16: using FP32")
        return "fp32", "this GPU has no fast FP16"
    return "fp16", f"TRT_PRECISION={requested} and the GPU has fast FP16"
