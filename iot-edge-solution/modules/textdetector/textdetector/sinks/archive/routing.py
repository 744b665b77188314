"""Where a frame belongs, decided from the scores of its detections.

- no detections, or only detections below the uncertain band: not archived;
- any detection inside the uncertain band [uncertain_min, confident): "lowconf"
  (a retraining candidate; a mixed frame counts as uncertain);
- otherwise every counted detection is confident: "annotated".

Each score is compared with the thresholds element by element; the seed compared
`scores.any()` / `scores.all()` (booleans) with a threshold, which ignores the values.
"""

from __future__ import annotations

import enum

import numpy as np


class Route(enum.Enum):
    NONE = "none"
    ANNOTATED = "annotated"
    LOWCONF = "lowconf"


def route(scores: np.ndarray, confident: float, uncertain_min: float) -> Route:
    """Route one frame by its detection scores (shape (N,))."""
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if values.size == 0:
        return Route.NONE
    uncertain = (values >= uncertain_min) & (values < confident)
    if bool(uncertain.any()):
        return Route.LOWCONF
    if bool((values >= confident).any()):
        return Route.ANNOTATED
    return Route.NONE
