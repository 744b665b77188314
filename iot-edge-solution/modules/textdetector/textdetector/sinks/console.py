"""Console sink: a readable line per frame and a periodic fps summary."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..results import FrameResult
from ..sources.health import HealthRegistry
from ..sources.health import describe as describe_health

MAX_BOXES_SHOWN = 4


def _items(result: FrameResult) -> list[str]:
    """What was read ('NO PARKING' 0.98) or, without reading, the boxes (x0,y0,x1,y1 score)."""
    det = result.detections
    if det.texts is not None and det.text_scores is not None:
        return [
            f"{text!r} {score:.2f}{_pattern_note(det.pattern_fields(i))}"
            for i, (text, score) in enumerate(zip(det.texts, det.text_scores))
            if text
        ]
    return [
        f"({x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f} {score:.2f})"
        for (x0, y0, x1, y1), score in zip(det.xyxy(), det.scores)
    ]


def _pattern_note(fields: dict) -> str:
    """' iso6346' after a matched reading, ' (no iso6346 match)' after a raw one; with
    ZONES then ' @gate' (the zone's name)."""
    zone = f" @{fields['zone']}" if fields.get("zone") else ""
    if "pattern" not in fields:
        return zone
    note = f" {fields['pattern']}" if fields["matched"] else f" (no {fields['pattern']} match)"
    return note + zone


def describe(result: FrameResult) -> str:
    """One line: frame, time, region count, timings (or `reused`), then the first readings
    (or boxes)."""
    det, timings = result.detections, result.timings
    items = _items(result)
    more = f" +{len(items) - MAX_BOXES_SHOWN} more" if len(items) > MAX_BOXES_SHOWN else ""
    noun = "region" if len(det) == 1 else "regions"
    rec = f"  rec {timings.recognition_ms:6.1f} ms" if det.texts is not None else ""
    cost = (
        "  reused (unchanged frame)"
        if result.reused
        else f"  det {timings.detection_ms:6.1f} ms{rec}"
    )
    return (
        f"frame {result.index:6d}  t={result.timestamp:8.2f}s  {len(det):3d} text {noun}"
        f"{cost}  "
        f"{' '.join(items[:MAX_BOXES_SHOWN])}{more}"
    ).rstrip()


class ConsoleSink:
    """Prints each frame (unless quiet) and every `interval_s` an fps summary; with a
    `HealthRegistry`, each summary and the final line are followed by the sources' health."""

    def __init__(
        self,
        stream: TextIO | None = None,
        quiet: bool = False,
        interval_s: float = 5.0,
        health: HealthRegistry | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.interval_s = interval_s
        self.health = health
        self.frames = 0
        self.regions = 0
        self._start = self._last = 0.0
        self._frames_at_last = 0

    def __enter__(self) -> ConsoleSink:
        self._start = self._last = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self._start
        fps = self.frames / elapsed if elapsed > 0 else 0.0
        self._print(
            f"done: {self.frames} frames in {elapsed:.1f} s, {fps:.1f} fps, "
            f"{self.regions} text regions"
        )
        self._print_health()

    def write(self, result: FrameResult) -> None:
        self.frames += 1
        self.regions += len(result.detections)
        if not self.quiet:
            self._print(describe(result))
        now = time.perf_counter()
        if now - self._last >= self.interval_s:
            fps = (self.frames - self._frames_at_last) / (now - self._last)
            self._print(
                f"-- {self.frames} frames, {fps:.1f} fps over the last {now - self._last:.0f} s"
            )
            self._print_health()
            self._last, self._frames_at_last = now, self.frames

    def _print_health(self) -> None:
        if self.health is not None and self.health.ids():
            self._print(describe_health(self.health.snapshot()))

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
