"""Consensus readings across refreshes of an unchanged view.

When REUSE_MAX_AGE forces a refresh of a frame that did not change, its lines are the same
lines as before: each new reading votes (weighted by its confidence) with the readings of
the line's earlier refreshes, and the line keeps its reading unless another leads it by
more than HOLD (about one confident reading). So one noisy refresh cannot flip a reading
that then sticks until the next refresh. A frame that changed starts the votes again.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .. import geometry
from ..results import Detections

MATCH_IOU = 0.5
HOLD = 0.5  # the reading held wins unless another leads it by this much weight


class Consensus:
    """Per-line votes of one stream: boxes (xyxy) and text -> summed confidence."""

    def __init__(self) -> None:
        self._boxes = np.zeros((0, 4), np.float32)
        self._votes: list[Counter] = []
        self._held: list[str] = []  # the reading each line reports

    def reset(self, det: Detections) -> Detections:
        """A changed frame: its readings are the votes from now on."""
        self._boxes = det.xyxy().astype(np.float32)
        self._votes = [Counter({t: float(s)}) for t, s in zip(det.texts or (), _scores(det))]
        self._held = list(det.texts or ())
        return det

    def vote(self, det: Detections) -> Detections:
        """A refresh of an unchanged frame: each line's reading is its votes' winner."""
        if det.texts is None or not len(det) or not len(self._boxes):
            return self.reset(det)
        overlap = geometry.iou_matrix(det.xyxy(), self._boxes)
        votes, texts, scores = [], list(det.texts), np.array(_scores(det), np.float32)
        for i in range(len(det)):
            j = int(np.argmax(overlap[i]))
            matched = overlap[i, j] >= MATCH_IOU
            tally = Counter(self._votes[j]) if matched else Counter()
            held = self._held[j] if matched else texts[i]
            tally[texts[i]] += float(scores[i])  # type: ignore[assignment]  # float score sums
            best = max(tally, key=tally.__getitem__)
            texts[i] = best if tally[best] > tally[held] + HOLD else held
            votes.append(tally)
        self._boxes, self._votes, self._held = det.xyxy().astype(np.float32), votes, texts
        # REC_PATTERN's raw readings and matches stay this frame's
        return det.with_texts(tuple(texts), scores, det.raw_texts, det.matched, det.pattern)


def _scores(det: Detections) -> np.ndarray:
    return det.text_scores if det.text_scores is not None else np.zeros(0, np.float32)
