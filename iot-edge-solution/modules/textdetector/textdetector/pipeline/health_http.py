"""The run mode's small health and metrics endpoint (HEALTH_PORT; off when 0).

GET /v2/health/live    200 while the process works
GET /v2/health/ready   200 when at least one source is not `down`, else 503
GET /health            JSON: live, ready and every source's health
GET /metrics           Prometheus text format: per-source state and counters
GET /preview           (PREVIEW) a page of every source's annotated stream
GET /preview.mjpg      ?source=N: that source's frames, boxes and text drawn (MJPEG)

A standard-library HTTP server (a thread per connection) on a daemon thread: it never
touches the run loop, it only reads the `HealthRegistry` and the preview hub;
prometheus_client writes the metrics text.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..errors import ConfigError
from ..preview import Preview
from ..preview.routes import PATHS as PREVIEW_PATHS
from ..serve.metrics import PREFIX, render
from ..sources.health import STATES, HealthRegistry

log = logging.getLogger(__name__)


def ready(health: HealthRegistry) -> bool:
    """Ready while some source is registered and not every one is down."""
    return bool(health.ids()) and not health.all_down()


class SourceCollector:
    """Per-source gauges and counters, read from the `HealthRegistry` at each scrape."""

    def __init__(self, health: HealthRegistry) -> None:
        self.health = health

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snap = self.health.snapshot()

        def per_source(family, key: str):
            for sid, entry in snap.items():
                family.add_metric([sid], entry[key])
            return family

        up = GaugeMetricFamily(
            f"{PREFIX}_source_up",
            "1 while the source delivers frames (connected).",
            labels=["source"],
        )
        state = GaugeMetricFamily(
            f"{PREFIX}_source_state",
            "1 for the source's current state.",
            labels=["source", "state"],
        )
        for sid, entry in snap.items():
            up.add_metric([sid], int(entry["state"] == "connected"))
            for name in STATES:
                state.add_metric([sid, name], int(entry["state"] == name))
        yield up
        yield state
        yield per_source(
            GaugeMetricFamily(
                f"{PREFIX}_source_state_since_seconds",
                "Unix time of the source's last state change.",
                labels=["source"],
            ),
            "since",
        )
        yield per_source(
            CounterMetricFamily(
                f"{PREFIX}_source_reconnects", "Reconnect attempts per source.", labels=["source"]
            ),
            "reconnects",
        )
        yield per_source(
            CounterMetricFamily(
                f"{PREFIX}_source_frames", "Frames read per source.", labels=["source"]
            ),
            "frames_read",
        )
        yield per_source(
            CounterMetricFamily(
                f"{PREFIX}_source_dropped",
                "Frames dropped per source because detection was behind.",
                labels=["source"],
            ),
            "frames_dropped",
        )
        skipped = CounterMetricFamily(
            f"{PREFIX}_source_skipped",
            "Inputs a source skipped, per reason (MQTT snapshots that are not images).",
            labels=["source", "reason"],
        )
        for sid, entry in snap.items():
            for reason, count in sorted(entry["skipped"].items()):
                skipped.add_metric([sid, reason], count)
        yield skipped
        yield GaugeMetricFamily(
            f"{PREFIX}_ready",
            "1 when at least one source is not down.",
            value=int(ready(self.health)),
        )


def _handler(
    health: HealthRegistry, collectors: Sequence = (), preview: Preview | None = None
) -> type[BaseHTTPRequestHandler]:
    registry = CollectorRegistry()  # one per server; the collector reads at each scrape
    registry.register(SourceCollector(health))
    for collector in collectors:  # e.g. temporal.metrics.ReuseCollector
        registry.register(collector)

    class Handler(BaseHTTPRequestHandler):
        timeout = 30  # seconds a connection may take to send its request

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            path, _, query = self.path.partition("?")
            if path == "/metrics":
                self._send(200, render(registry), "text/plain; version=0.0.4")
            elif path == "/v2/health/live":
                self._json(200, {"live": True})
            elif path == "/v2/health/ready":
                ok = ready(health)
                self._json(200 if ok else 503, {"ready": ok})
            elif path == "/health":
                self._json(
                    200, {"live": True, "ready": ready(health), "sources": health.snapshot()}
                )
            elif path in PREVIEW_PATHS and preview is not None:
                preview.handle(self, path, query)
            else:
                self._json(
                    404,
                    {
                        "error": f"no route {path}; see /health, /v2/health/live, "
                        "/v2/health/ready, /metrics" + (", /preview" if preview else "")
                    },
                )

        def _json(self, status: int, body: dict) -> None:
            self._send(status, json.dumps(body), "application/json")

        def _send(self, status: int, text: str, content_type: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header(
                "Content-Type",
                f"{content_type}; charset=utf-8" if "charset" not in content_type else content_type,
            )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("health endpoint: " + format, *args)

    return Handler


class HealthServer:
    """Serves the registry's health over HTTP on its own daemon thread (a context manager)."""

    def __init__(
        self,
        health: HealthRegistry,
        host: str,
        port: int,
        collectors: Sequence = (),
        preview: Preview | None = None,
    ) -> None:
        self.preview = preview
        try:
            self.httpd = ThreadingHTTPServer((host, port), _handler(health, collectors, preview))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} (HEALTH_HOST/HEALTH_PORT): {exc.strerror or exc}"
            ) from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            name="health-http",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )

    def __enter__(self) -> HealthServer:
        self._thread.start()
        log.info(
            "health endpoint on http://%s:%d (/health, /v2/health/ready, /metrics)",
            *self.httpd.server_address[:2],
        )
        if self.preview is not None:
            host, port = self.httpd.server_address[:2]
            self.preview.announce(str(host), int(port))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.preview is not None:
            self.preview.hub.closed.set()  # open streams end
        self.httpd.shutdown()
        self.httpd.server_close()
