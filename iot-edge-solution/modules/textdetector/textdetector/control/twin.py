"""Module twin and direct methods: live settings in, status out.

Desired properties named like the live settings (detThresh, boxThresh, limitSideLen,
sendInterval, cameraPath, recModelDir: a gated train-rec folder, detModelDir: a gated
train-det folder, and zones: the ZONES document) are validated and applied
without a restart; each one is
acknowledged in the reported properties the IoT Plug and Play way
(`{"value", "ac", "av", "ad"}`: 200 applied, 400 rejected with the reason). Reported
properties also carry version, model, backend, fps, sent and dropped messages.
Direct methods: getStatus, getLastDetections; anything else answers 404.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .live import LiveSettings

if TYPE_CHECKING:  # the IoT Hub sink imports this module: no import cycle at run time
    from ..sinks.iothub.client import HubClient

log = logging.getLogger(__name__)

GET_TWIN_TIMEOUT_S = 10.0
MIN_REPORT_GAP_S = 1.0
METHODS = ("getStatus", "getLastDetections")


def call_with_timeout(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run a blocking SDK call on a helper thread; raise TimeoutError past `timeout_s`."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except Exception as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="iothub-call", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"no answer from the hub within {timeout_s:.0f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def apply_desired(live: LiveSettings, desired: dict[str, Any]) -> dict[str, Any]:
    """Apply the live keys of a desired patch; returns the reported acknowledgements."""
    version = desired.get("$version")
    values = {k: v for k, v in desired.items() if not k.startswith("$")}
    rejected = live.update(values)
    acks: dict[str, Any] = {}
    for key, value in values.items():
        if key in rejected:
            log.warning("twin: rejected %s=%r: %s", key, value, rejected[key])
            acks[key] = {"value": value, "ac": 400, "av": version, "ad": rejected[key]}
        else:
            log.info("twin: %s set to %r", key, value)
            acks[key] = {"value": value, "ac": 200, "av": version, "ad": "applied"}
    return acks


class TwinService:
    """Connects handlers, applies the twin, reports status periodically and on change."""

    def __init__(
        self,
        client: HubClient,
        live: LiveSettings,
        status: Callable[[], dict[str, Any]],
        last_detections: Callable[[], dict[str, Any] | None],
        report_interval_s: float = 30.0,
    ) -> None:
        self.client = client
        self.live = live
        self.status = status
        self.last_detections = last_detections
        self.report_interval_s = report_interval_s
        self.reports = 0
        self._acks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="iothub-twin", daemon=True)

    def start(self) -> TwinService:
        self._thread.start()
        return self

    def request_report(self) -> None:
        self._wake.set()

    def close(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def on_patch(self, patch: dict[str, Any]) -> None:
        """SDK handler: a desired-properties patch arrived."""
        acks = apply_desired(self.live, patch)
        with self._lock:
            self._acks.update(acks)
        self.request_report()

    def on_method(self, request: Any) -> None:
        """SDK handler: answer a direct method call."""
        from azure.iot.device import MethodResponse

        status, payload = self.handle_method(request.name, request.payload)
        response = MethodResponse.create_from_method_request(request, status, payload)
        try:
            call_with_timeout(lambda: self.client.sdk.send_method_response(response), 10.0)
        except Exception as exc:
            log.warning("direct method %s: response not delivered: %s", request.name, exc)

    def handle_method(self, name: str, payload: Any) -> tuple[int, Any]:
        """Status code and payload for a method call (no transport)."""
        if name == "getStatus":
            return 200, self.status()
        if name == "getLastDetections":
            last = self.last_detections()
            if last is None:
                return 404, {"error": "no frame processed yet"}
            return 200, last
        return 404, {"error": f"unknown method {name!r}; supported: {', '.join(METHODS)}"}

    def reported(self) -> dict[str, Any]:
        with self._lock:
            acks = dict(self._acks)
        return {**self.status(), **acks}

    def _run(self) -> None:
        if not self._connect():
            return
        sdk = self.client.sdk
        try:
            sdk.on_twin_desired_properties_patch_received = self.on_patch
            sdk.on_method_request_received = self.on_method
            twin = call_with_timeout(sdk.get_twin, GET_TWIN_TIMEOUT_S)
            self.on_patch(dict((twin or {}).get("desired", {})))
        except Exception as exc:
            log.warning("twin: could not read the module twin: %s", exc)
        while not self._stop.is_set():
            try:
                report = json.loads(json.dumps(self.reported()))
                call_with_timeout(
                    functools.partial(sdk.patch_twin_reported_properties, report), 10.0
                )
                self.reports += 1
            except Exception as exc:
                log.debug("twin: report not delivered: %s", exc)
            self._wake.wait(self.report_interval_s)
            self._wake.clear()
            self._stop.wait(MIN_REPORT_GAP_S)

    def _connect(self) -> bool:
        delay = 0.5
        while not self._stop.is_set():
            try:
                call_with_timeout(self.client.sdk.connect, 30.0)
                return True
            except Exception as exc:
                log.debug("twin: connect failed (%s); retrying", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, 8.0)
        return False
