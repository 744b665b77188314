"""Per-source reuse and reading-quality figures on /metrics (HEALTH_PORT)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..serve.metrics import PREFIX
from .stats import ReuseStats

COUNTERS = {
    "frames_inferred": "Frames detected (and read) per source.",
    "frames_reused": "Frames that reused their source's last inferred result (TEMPORAL_REUSE).",
    "lines_read": "Text lines read per source.",
    "lines_reused": "Text lines whose reading was reused (TEMPORAL_REUSE=region).",
}
GAUGES = {
    "mean_confidence": "Mean confidence of the non-empty readings per source.",
    "empty_crop_rate": "Share of the lines read that gave no text (dirty lens, moved camera).",
}


class ReuseBoard:
    """The run's per-source `ReuseStats`, filled by the loop, read at each scrape."""

    def __init__(self) -> None:
        self.sources: dict[str, ReuseStats] = {}

    def add(self, source_id: str, stats: ReuseStats) -> None:
        self.sources[source_id] = stats


class ReuseCollector:
    """A prometheus_client collector of a `ReuseBoard`."""

    def __init__(self, board: ReuseBoard) -> None:
        self.board = board

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        figures = {sid: stats.to_dict() for sid, stats in dict(self.board.sources).items()}
        for name, text in COUNTERS.items():
            family = CounterMetricFamily(f"{PREFIX}_source_{name}", text, labels=["source"])
            for sid, values in figures.items():
                family.add_metric([sid], values[name])
            yield family
        for name, text in GAUGES.items():
            gauge = GaugeMetricFamily(f"{PREFIX}_source_{name}", text, labels=["source"])
            for sid, values in figures.items():
                gauge.add_metric([sid], values[name])
            yield gauge
