"""Frame-level reuse for one stream: infer this frame, or reuse the last inferred one."""

from __future__ import annotations

import numpy as np

from .change import ChangeTest


class FrameGate:
    """Remembers the signature and time of the stream's last inferred frame.

    `needs_model` is False when the frame did not change against that frame and the
    frame is less than `max_age_s` newer (else the frame becomes the new reference).
    `head_start_s` ages the first frame by that much, so its first refresh comes sooner:
    streams started together get different head starts and refresh at different times.
    """

    def __init__(
        self, max_age_s: float, test: ChangeTest | None = None, head_start_s: float = 0.0
    ) -> None:
        self.max_age_s = max_age_s
        self.head_start_s = head_start_s
        self.test = test or ChangeTest()
        self._reference: np.ndarray | None = None
        self._time = 0.0
        self.refresh = False  # the last frame inferred only because the result aged
        self.blocks: np.ndarray | None = None  # the last inferred frame's changed blocks

    def needs_model(self, image: np.ndarray, timestamp: float) -> bool:
        current = self.test.signature(image)
        age = timestamp - self._time
        self.blocks = (
            None if self._reference is None else self.test.changed_blocks(current, self._reference)
        )
        unchanged = self.blocks is not None and not self.blocks.any()
        if unchanged and 0.0 <= age < self.max_age_s:  # a file that restarts (LOOP) refreshes
            return False
        self.refresh = unchanged and age >= self.max_age_s
        first = self._reference is None
        self._reference = current
        self._time = timestamp - (self.head_start_s if first else 0.0)
        return True
