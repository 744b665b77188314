"""Prometheus metrics of the HTTP service, kept with prometheus_client (one registry each)."""

from __future__ import annotations

from collections.abc import Callable

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PREFIX = "textdetector"

# No `*_created` series: scrapers take a process's start from its own metrics.
prometheus_client.disable_created_metrics()


def render(registry: CollectorRegistry) -> str:
    """The registry in the Prometheus text format (0.0.4)."""
    return generate_latest(registry).decode("utf-8")


class Metrics:
    """Request counts, latencies, inference times and live gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            f"{PREFIX}_inference_duration_seconds",
            "Decode + detect time per image.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            f"{PREFIX}_rejected",
            "Requests refused because the queue was full.",
            registry=self.registry,
        )

    def record_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def record_inference(self, seconds: float) -> None:
        self.inference.labels("detect").observe(seconds)

    def record_rejected(self) -> None:
        self.rejected.inc()

    def add_gauges(self, gauges: dict[str, tuple[str, Callable[[], float]]]) -> None:
        """Gauges read when scraped: name -> (help text, function)."""
        for name, (help_text, read) in gauges.items():
            Gauge(f"{PREFIX}_{name}", help_text, registry=self.registry).set_function(read)

    def render(self) -> str:
        """The exposition text (format 0.0.4)."""
        return render(self.registry)
