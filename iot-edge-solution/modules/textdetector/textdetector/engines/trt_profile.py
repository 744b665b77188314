"""The TensorRT optimisation profile: every input shape the configured resize can produce."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import KitError
from ..preprocess import input_size

Shape = tuple[int, int, int, int]


class ShapeOutOfProfileError(KitError):
    """A batch does not fit the shapes the TensorRT engine was built for."""

    exit_code = 5


@dataclass(frozen=True)
class ShapeProfile:
    """min / opt / max NCHW shapes of the model input."""

    min: Shape
    opt: Shape
    max: Shape

    def check(self, shape: tuple[int, ...]) -> None:
        """Raise `ShapeOutOfProfileError` unless `shape` lies inside the profile."""
        if len(shape) != 4 or shape[1] != 3:
            raise ShapeOutOfProfileError(f"expected an input of shape (N, 3, H, W), got {shape}")
        inside = all(lo <= v <= hi for lo, v, hi in zip(self.min, shape, self.max))
        if not inside or shape[2] % 32 or shape[3] % 32:
            raise ShapeOutOfProfileError(
                f"input shape {tuple(shape)} is outside the TensorRT profile "
                f"{self.min}..{self.max} (H and W multiples of 32); the engine was built for "
                f"DET_LIMIT_SIDE_LEN and TRT_MAX_BATCH as configured at start-up")

    def as_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}


def max_side(limit_side_len: int) -> int:
    """The largest side `input_size` can return for this limit.

    The capped long side is at most `limit_side_len`, and rounding to a multiple of 32 is
    monotonic, so the maximum is reached at the limit itself (never below 32).
    """
    return max(int(round(limit_side_len / 32) * 32), 32)


def profile_for(limit_side_len: int, max_batch: int = 1) -> ShapeProfile:
    """The profile covering every (H, W) `preprocess.input_size` can give for this limit.

    Either side can be as small as 32 (a thin strip) and as large as `max_side`; the
    optimum is a 16:9 video frame (1080p resized), the common case.
    """
    if limit_side_len < 1 or max_batch < 1:
        raise ValueError("limit_side_len and max_batch must be positive")
    top = max_side(limit_side_len)
    opt_h, opt_w = input_size(1080, 1920, limit_side_len)
    return ShapeProfile((1, 3, 32, 32), (1, 3, opt_h, opt_w), (max_batch, 3, top, top))
