"""Line crops into model inputs, exactly as the recogniser prepares them at run time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..recognizer.batching import batch_width, by_aspect, chunks, normalised_batch

MAX_TRAIN_WIDTH = 960  # widest training input: 20 x the height (longer lines squeezed)


def model_input(crops: Sequence[np.ndarray], max_width: int | None = None) -> np.ndarray:
    """(N, 3, 48, W): height 48 keeping the aspect, (x/255 - 0.5)/0.5, zero-padded right;
    W as the recogniser picks it (48 x the widest aspect, at least 320)."""
    width = batch_width(crops)
    return normalised_batch(crops, min(width, max_width) if max_width else width)


def by_width(crops: Sequence[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Index groups of at most `size` crops of similar aspect (the recogniser's order)."""
    yield from chunks(by_aspect(crops), size)
