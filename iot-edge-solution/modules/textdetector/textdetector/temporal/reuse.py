"""One stream's reuse state, and reading a flush's frames with reuse: the loop's interface."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..recognizer import TextRecognizer, read_regions
from ..results import Detections
from ..sources import Frame
from .area import Area, changed_area, merge
from .consensus import Consensus
from .gate import FrameGate
from .regions import LineMemory, ReuseRules, read_changed
from .stats import ReuseStats

MODES = ("off", "frame", "region")


@dataclass(frozen=True)
class ReusePolicy:
    """TEMPORAL_REUSE (off, frame or region) and REUSE_MAX_AGE seconds."""

    mode: str = "off"
    max_age_s: float = 2.0

    @property
    def on(self) -> bool:
        return self.mode != "off"


@dataclass
class StreamReuse:
    """A stream's change gate, line memory, counters and last inferred result.

    `phase` (0 <= phase < 1) moves the stream's first forced refresh forward by that
    share of REUSE_MAX_AGE: streams started together (`staggered`) then refresh one
    after another instead of all in the same round, which would queue each one's frames
    behind the others' full detection and reading.
    """

    policy: ReusePolicy
    phase: float = 0.0
    stats: ReuseStats = field(default_factory=ReuseStats)
    lines: LineMemory = field(default_factory=LineMemory)
    last: Detections | None = None
    gate: FrameGate | None = None
    consensus: Consensus = field(default_factory=Consensus)
    refreshes: set[int] = field(default_factory=set)  # frames inferred only for their age
    boxes: Detections | None = None  # the last inferred frame's detections (region mode)
    areas: dict[int, tuple[Area, Frame]] = field(default_factory=dict)  # frames cropped

    def __post_init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Drop what is held for reuse (another recogniser reads from now on): the next
        frame is inferred and read in full. The counters stay."""
        head_start = self.phase * self.policy.max_age_s
        self.lines, self.last, self.boxes = LineMemory(head_start_s=head_start), None, None
        self.consensus, self.areas = Consensus(), {}
        self.refreshes.clear()
        self.gate = (
            FrameGate(self.policy.max_age_s, head_start_s=head_start) if self.policy.on else None
        )

    def needs_model(self, image: np.ndarray, timestamp: float, index: int = -1) -> bool:
        """Whether this frame must be inferred (else it reuses `last`)."""
        if self.gate is None or self.gate.needs_model(image, timestamp):
            self.stats.frames_inferred += 1
            if self.gate is not None and self.gate.refresh:
                self.refreshes.add(index)
            return True
        self.stats.frames_reused += 1
        return False

    def model_frame(self, frame: Frame) -> Frame:
        """What the detector sees: in region mode, the changed part of a changed frame
        (the full frame is restored by `detected`)."""
        gate = self.gate
        if self.policy.mode != "region" or gate is None or gate.refresh or gate.blocks is None:
            return frame
        area = changed_area(gate.blocks, frame.image.shape[:2], self.boxes)
        if area is None:
            return frame
        self.areas[frame.index] = (area, frame)
        return dataclasses.replace(frame, image=area.cut(frame.image), prepared=None)

    def detected(self, frame: Frame, det: Detections) -> tuple[Frame, Detections]:
        """The full frame and its detections, once the model frame was detected."""
        if frame.index in self.areas and self.boxes is not None:
            area, frame = self.areas.pop(frame.index)
            det = merge(area, det, self.boxes)
        self.boxes = det
        return frame, det

    def reused(self, image_size: tuple[int, int]) -> Detections:
        """The result a reused frame carries: the last inferred frame's."""
        if self.last is None or self.last.image_size != image_size:
            return Detections.empty(image_size)
        return self.last


def staggered(policy: ReusePolicy, count: int) -> list[StreamReuse]:
    """The reuse states of `count` streams started together, their first refreshes
    spread evenly over REUSE_MAX_AGE."""
    return [StreamReuse(policy, phase=k / count) for k in range(count)]


def read_frames(
    recognizer: TextRecognizer,
    frames: Sequence[tuple[StreamReuse, np.ndarray, Detections, float, int]],
) -> tuple[list[Detections], float]:
    """Read the text of (state, image, detections, timestamp, index) frames in one batch:
    every line, or (region mode) only new or changed lines; a refresh of an unchanged
    frame votes with the earlier readings (`consensus.py`). Returns results, ms per frame."""
    if not frames:
        return [], 0.0
    read, ms = _read(recognizer, [f[:4] for f in frames])
    out = []
    for (state, *_, index), det in zip(frames, read):
        if not state.policy.on:
            out.append(det)
        elif index in state.refreshes:
            state.refreshes.discard(index)
            voted = state.consensus.vote(det)
            if len(state.lines.texts) == len(voted):  # region mode reuses the voted readings
                state.lines.texts = voted.texts or ()
            out.append(voted)
        else:
            out.append(state.consensus.reset(det))
    return out, ms


def _read(
    recognizer: TextRecognizer,
    frames: Sequence[tuple[StreamReuse, np.ndarray, Detections, float]],
) -> tuple[list[Detections], float]:
    if frames[0][0].policy.mode != "region":
        read, ms = read_regions(recognizer, [f[1] for f in frames], [f[2] for f in frames])
        for (state, *_), det in zip(frames, read):
            state.stats.add_read(det.texts or (), _scores(det))
        return read, ms
    rules = ReuseRules(
        max_age_s=frames[0][0].policy.max_age_s, min_score=recognizer.settings.rec_min_score
    )
    items = [(state.lines, image, det, ts) for state, image, det, ts in frames]
    results, ms = read_changed(recognizer, items, rules)
    for (state, *_), result in zip(frames, results):
        state.stats.add_read(result.fresh.texts or (), _scores(result.fresh), result.reused)
    return [r.detections for r in results], ms


def _scores(det: Detections) -> np.ndarray:
    return det.text_scores if det.text_scores is not None else np.zeros(0, np.float32)
