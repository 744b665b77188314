"""Every detector input shape the configured resize can produce (a TensorRT profile)."""

from __future__ import annotations

from ..engines.trt_profile import ShapeProfile
from .policy import DetPolicy, as_policy


def max_side(limit_side_len: int) -> int:
    """The largest side `input_size` can return for this long-side limit (PaddleOCR's
    rule): the limit itself rounded to a multiple of 32, never below 32."""
    return as_policy(limit_side_len).largest_side


def profile_for(limit_side_len: int | DetPolicy, max_batch: int = 1) -> ShapeProfile:
    """The profile covering every (H, W) `preprocess.input_size` can give for this limit.

    Either side can be as small as 32 (a thin strip) and as large as `max_side`; the
    optimum is a 16:9 video frame (1080p resized), the common case.
    """
    policy = as_policy(limit_side_len)
    if policy.side < 1 or max_batch < 1:
        raise ValueError("limit_side_len and max_batch must be positive")
    top = policy.largest_side
    opt_h, opt_w = policy.input_size(1080, 1920)
    return ShapeProfile((1, 3, 32, 32), (1, 3, opt_h, opt_w), (max_batch, 3, top, top), multiple=32)
