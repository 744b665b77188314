"""Text events for the messaging sinks (IoT Hub, MQTT): readings turned into appearances.

One `TextTracker` per source (a frame index means something only within its source);
an appearance is reported once, when it ends or at `close()` (shutdown).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...recognizer.events import Appearance, TextTracker
from ...results import FrameResult


@dataclass(frozen=True)
class EndedAppearance:
    """An appearance that ended, with the source and frame size it was seen in."""

    appearance: Appearance
    source_id: str
    image_size: tuple[int, int]  # (height, width)


class TextEvents:
    """Feeds every frame's readings to its source's tracker; returns what ended."""

    def __init__(self, max_gap: int = 5, min_frames: int = 1) -> None:
        self.max_gap, self.min_frames = max_gap, min_frames
        self._trackers: dict[str, TextTracker] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._last: dict[str, int] = {}

    def update(self, result: FrameResult) -> list[EndedAppearance]:
        """Add one frame; frames without readings (READ_TEXT off) only age the open ones."""
        det = result.detections
        source = result.source_id
        tracker = self._trackers.setdefault(
            source, TextTracker(max_gap=self.max_gap, min_frames=self.min_frames)
        )
        self._sizes.setdefault(source, det.image_size)
        restarted = result.index <= self._last.get(source, -1)  # frame numbers began again
        self._last[source] = result.index
        out = self._ended(source, tracker.close()) if restarted else []
        if det.texts is None or det.text_scores is None:
            ended = tracker.update(result.index, result.timestamp, det.boxes[:0], [], [])
        else:
            ended = tracker.update(
                result.index, result.timestamp, det.boxes, det.texts, det.text_scores, det.matched
            )
        out += self._ended(source, ended)  # seen at the size before this frame's
        self._sizes[source] = det.image_size
        return out

    def close(self) -> list[EndedAppearance]:
        """End every open appearance of every source (end of the run)."""
        out: list[EndedAppearance] = []
        for source, tracker in self._trackers.items():
            out += self._ended(source, tracker.close())
        self._trackers.clear()
        return out

    def _ended(self, source: str, ended: list[Appearance]) -> list[EndedAppearance]:
        size = self._sizes.get(source, (1, 1))
        return [EndedAppearance(a, source, size) for a in ended]
