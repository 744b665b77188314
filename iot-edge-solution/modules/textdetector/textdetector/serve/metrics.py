"""Prometheus text-format metrics, kept in-process (no client library needed)."""
from __future__ import annotations

import threading
from typing import Callable

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PREFIX = "textdetector"


def label_value(value: str) -> str:
    """A label value escaped for the text format (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def family(name: str, kind: str, help_text: str,
           samples: list[tuple[dict[str, str], float]]) -> list[str]:
    """One metric family: HELP, TYPE and a line per (labels, value) sample."""
    lines = [f"# HELP {PREFIX}_{name} {help_text}", f"# TYPE {PREFIX}_{name} {kind}"]
    for labels, value in samples:
        text = ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items())
        number = str(value) if isinstance(value, int) else repr(float(value))
        lines.append(f"{PREFIX}_{name}{{{text}}} {number}" if text
                     else f"{PREFIX}_{name} {number}")
    return lines


class Histogram:
    """Cumulative-bucket histogram, one series per label value."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.series: dict[str, list[float]] = {}  # label -> bucket counts + [sum, count]

    def observe(self, label: str, value: float) -> None:
        row = self.series.setdefault(label, [0.0] * (len(self.buckets) + 2))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                row[i] += 1
        row[-2] += value
        row[-1] += 1

    def lines(self, name: str, label_name: str) -> list[str]:
        out = []
        for label, row in sorted(self.series.items()):
            for bound, count in zip(self.buckets, row):
                out.append(f'{name}_bucket{{{label_name}="{label}",le="{bound}"}} {count:.0f}')
            out.append(f'{name}_bucket{{{label_name}="{label}",le="+Inf"}} {row[-1]:.0f}')
            out.append(f'{name}_sum{{{label_name}="{label}"}} {row[-2]:.6f}')
            out.append(f'{name}_count{{{label_name}="{label}"}} {row[-1]:.0f}')
        return out


class Metrics:
    """Request counts, latencies, inference times and live gauges."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency = Histogram()
        self.inference = Histogram()
        self.rejected = 0
        self.gauges: dict[str, Callable[[], float]] = {}

    def record_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, method, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            self.latency.observe(route, seconds)

    def record_inference(self, seconds: float) -> None:
        with self._lock:
            self.inference.observe("detect", seconds)

    def record_rejected(self) -> None:
        with self._lock:
            self.rejected += 1

    def render(self) -> str:
        """The exposition text (format 0.0.4)."""
        p = PREFIX
        with self._lock:
            lines = [f"# HELP {p}_http_requests_total HTTP requests by route, method and status.",
                     f"# TYPE {p}_http_requests_total counter"]
            for (route, method, status), count in sorted(self.requests.items()):
                lines.append(f'{p}_http_requests_total{{route="{route}",method="{method}",'
                             f'status="{status}"}} {count}')
            lines += [f"# HELP {p}_http_request_duration_seconds Request latency by route.",
                      f"# TYPE {p}_http_request_duration_seconds histogram",
                      *self.latency.lines(f"{p}_http_request_duration_seconds", "route"),
                      f"# HELP {p}_inference_duration_seconds Decode + detect time per image.",
                      f"# TYPE {p}_inference_duration_seconds histogram",
                      *self.inference.lines(f"{p}_inference_duration_seconds", "stage"),
                      f"# HELP {p}_rejected_total Requests refused because the queue was full.",
                      f"# TYPE {p}_rejected_total counter",
                      f"{p}_rejected_total {self.rejected}"]
        for name, read in sorted(self.gauges.items()):
            lines += [f"# TYPE {p}_{name} gauge", f"{p}_{name} {read():g}"]
        return "\n".join(lines) + "\n"
