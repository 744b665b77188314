"""Shape profiles: the range of input shapes an engine is built for (TensorRT)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import KitError

Shape = tuple[int, ...]


class ShapeOutOfProfileError(KitError):
    """A batch does not fit the shapes the TensorRT engine was built for."""

    exit_code = 5


@dataclass(frozen=True)
class ShapeProfile:
    """min / opt / max shapes of a model input; dynamic dims must be multiples of `multiple`."""

    min: Shape
    opt: Shape
    max: Shape
    multiple: int = 1

    def check(self, shape: tuple[int, ...]) -> None:
        """Raise `ShapeOutOfProfileError` unless `shape` lies inside the profile."""
        shape = tuple(shape)
        if len(shape) != len(self.min):
            raise ShapeOutOfProfileError(
                f"expected an input of rank {len(self.min)} like {self.opt}, got shape {shape}"
            )
        inside = all(lo <= v <= hi for lo, v, hi in zip(self.min, shape, self.max))
        aligned = all(
            v % self.multiple == 0
            for i, (lo, v, hi) in enumerate(zip(self.min, shape, self.max))
            if i > 0 and lo != hi
        )
        if not inside or not aligned:
            raise ShapeOutOfProfileError(
                f"input shape {shape} is outside the TensorRT profile {self.min}..{self.max}"
                + (f" (dynamic sides multiples of {self.multiple})" if self.multiple > 1 else "")
                + "; the engine was built for the limits configured at start-up"
            )

    def as_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}
