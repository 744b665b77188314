"""Remote engine: a Triton Inference Server (KServe v2 over gRPC or HTTP) runs the model.

`tritonclient` is imported only when this engine is opened. Each thread gets its own
client (the HTTP client is not thread-safe, and a fresh gRPC channel reconnects at once
instead of waiting out gRPC's reconnect backoff); a client that failed is replaced.
A request that fails for want of the server is retried with exponential backoff and
then raises `TritonUnavailableError` (one line naming the URL and the model), so a
caller never hangs (a request that times out is not resent: that would only add to an
overload); the next call tries the server again, so service resumes when the
server returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ..config import TritonSettings
from ..errors import ConfigError, EngineUnavailableError, ModelError
from ..export.triton import read_graph, triton_model_name
from .base import TensorSpec

log = logging.getLogger(__name__)

SCHEMES = {
    "grpc": ("grpc", False),
    "grpcs": ("grpc", True),
    "http": ("http", False),
    "https": ("http", True),
}
# Failures that mean "server away or overloaded" (retried) rather than "request refused".
TRANSIENT_STATUS = (
    "UNAVAILABLE",
    "RESOURCE_EXHAUSTED",
    "CANCELLED",
    "UNKNOWN",
    "502",
    "503",
    "504",
    "429",
)


class TritonUnavailableError(EngineUnavailableError):
    """The Triton server or the model on it cannot be reached (exit code 5)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the server is and how to speak to it."""

    url: str  # as configured, for messages
    protocol: str  # grpc or http
    address: str  # host:port
    ssl: bool


def parse_endpoint(url: str, protocol: str = "auto") -> Endpoint:
    """Split TRITON_URL; without a scheme, `protocol` decides (auto = gRPC)."""
    parts = urlsplit(url if "://" in url else f"//{url}")
    scheme = parts.scheme.lower()
    if scheme and scheme not in SCHEMES:
        raise ConfigError(
            f"invalid TRITON_URL {url!r}: expected grpc://, grpcs://, http:// or https://host:port"
        )
    if not parts.hostname or parts.path.strip("/"):
        raise ConfigError(f"invalid TRITON_URL {url!r}: expected scheme://host:port")
    implied, ssl = SCHEMES.get(scheme, ("grpc", False))
    chosen = implied if protocol == "auto" else protocol
    if scheme and chosen != implied:
        raise ConfigError(f"TRITON_PROTOCOL {protocol} contradicts TRITON_URL {url!r}")
    default_port = {"grpc": 8001, "http": 8000}[chosen]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ConfigError(f"invalid TRITON_URL {url!r}: bad port") from None
    return Endpoint(url, chosen, f"{parts.hostname}:{port}", ssl)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _failure(exc: Exception, server_error: type[Any]) -> str:
    """`timeout`, `away` (server down or overloaded: retry) or `refused` (bad request)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if not isinstance(exc, server_error):
        return "away"  # connection refused/reset, broken channels
    status = str(exc.status() or "")
    if "DEADLINE_EXCEEDED" in status:
        return "timeout"
    return "away" if any(s in status for s in TRANSIENT_STATUS) else "refused"


class _Clients:
    """One tritonclient per thread for one endpoint; `reset` drops this thread's client."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.grpc = endpoint.protocol == "grpc"
        try:
            if self.grpc:
                import tritonclient.grpc as module
            else:
                import tritonclient.http as module
            from tritonclient.utils import InferenceServerException
        except ImportError:
            raise EngineUnavailableError(
                "the Triton engine needs tritonclient: pip install -r requirements.txt"
            ) from None
        self.module = module
        self.server_error = InferenceServerException
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def get(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._make()
            self._local.client = client
            with self._lock:
                self._all.append(client)
        return client

    def _make(self) -> Any:
        if self.grpc:
            return self.module.InferenceServerClient(self.endpoint.address, ssl=self.endpoint.ssl)
        return self.module.InferenceServerClient(
            self.endpoint.address,
            ssl=self.endpoint.ssl,
            connection_timeout=self.timeout,
            network_timeout=self.timeout,
        )

    def reset(self) -> None:
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with self._lock:
                self._all = [c for c in self._all if c is not client]
            _close_quietly(client)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a client method with the per-request timeout."""
        if self.grpc:
            kwargs["client_timeout"] = self.timeout
        return getattr(self.get(), method)(*args, **kwargs)

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            _close_quietly(client)


def _close_quietly(client: Any) -> None:
    try:
        client.close()
    except Exception:  # closing a broken client must not mask the real error
        pass


def _spec(entry: Mapping[str, Any]) -> TensorSpec:
    from tritonclient.utils import triton_to_np_dtype

    shape = tuple(None if int(d) < 0 else int(d) for d in entry["shape"])
    return TensorSpec(entry["name"], shape, np.dtype(triton_to_np_dtype(entry["datatype"])).name)


def local_metadata(model_path: Path | None) -> dict[str, str]:
    """The local ONNX file's custom metadata (e.g. the recogniser's `character`)."""
    if model_path is None or not Path(model_path).is_file():
        return {}
    return dict(read_graph(Path(model_path)).get_modelmeta().custom_metadata_map)


class TritonEngine:
    """Runs one model of a Triton server; the engine interface of the local engines."""

    name = "triton"

    def __init__(
        self,
        clients: _Clients,
        model: str,
        inputs: tuple[TensorSpec, ...],
        outputs: tuple[TensorSpec, ...],
        metadata: Mapping[str, str],
        retries: int = 3,
        backoff: float = 0.5,
        platform: str = "",
    ) -> None:
        self._clients = clients
        self.model = model
        self.platform = platform or "triton"  # the served model's (e.g. onnxruntime_onnx)
        self.inputs = inputs
        self.outputs = outputs
        self.metadata = dict(metadata)
        self.retries = retries
        self.backoff = backoff

    @property
    def url(self) -> str:
        return self._clients.endpoint.url

    @classmethod
    def open(
        cls,
        model_path: Path | None,
        settings: TritonSettings,
        model_name: str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> TritonEngine:
        """Connect, wait (up to TRITON_TIMEOUT) for the model to be ready, read its I/O.

        The model served is `model_name`, else the export's name for `model_path`; the
        local file, when present, supplies the custom metadata.
        """
        if model_name:
            model = model_name
        elif model_path is not None:
            model = triton_model_name(model_path)
        else:
            raise ConfigError("the Triton engine needs a model file or a model name")
        endpoint = parse_endpoint(settings.triton_url, settings.triton_protocol)
        clients = _Clients(endpoint, settings.triton_timeout)
        try:
            _wait_ready(clients, model, settings.triton_timeout)
            meta = clients.call(
                "get_model_metadata", model, **({"as_json": True} if clients.grpc else {})
            )
        except TritonUnavailableError:
            clients.close()
            raise
        except Exception as exc:
            clients.close()
            raise TritonUnavailableError(
                f"Triton server at {endpoint.url}: cannot read model {model!r}: {_first_line(exc)}"
            ) from None
        engine = cls(
            clients,
            model,
            tuple(_spec(e) for e in meta["inputs"]),
            tuple(_spec(e) for e in meta["outputs"]),
            local_metadata(model_path),
            retries,
            backoff,
            str(meta.get("platform", "")),
        )
        log.info("triton model %r at %s (%s) ready", model, endpoint.url, endpoint.protocol)
        return engine

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One inference request; transient failures are retried, then reported."""
        request = self._request(feeds)
        for attempt in range(self.retries + 1):
            try:
                return request()
            except Exception as exc:
                failure = _failure(exc, self._clients.server_error)
                if failure == "refused":
                    raise ModelError(
                        f"Triton server at {self.url} refused a request for "
                        f"model {self.model!r}: {_first_line(exc)}"
                    ) from None
                self._clients.reset()
                if failure == "timeout":  # resending would only add to an overload
                    raise TritonUnavailableError(
                        f"Triton server at {self.url}: request for model {self.model!r} "
                        f"timed out after {self._clients.timeout:g} s (TRITON_TIMEOUT)"
                    ) from None
                if attempt == self.retries:
                    raise TritonUnavailableError(
                        f"Triton server at {self.url} unavailable for model {self.model!r} "
                        f"after {attempt + 1} attempts: {_first_line(exc)}"
                    ) from None
                delay = min(self.backoff * 2**attempt, 30.0)
                log.warning(
                    "triton request for %r failed (%s); retry in %.1f s",
                    self.model,
                    _first_line(exc),
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _request(self, feeds: Mapping[str, np.ndarray]) -> Callable[[], dict[str, np.ndarray]]:
        missing = {spec.name for spec in self.inputs} - set(feeds)
        if missing:
            raise ModelError(f"model {self.model!r} needs inputs {sorted(missing)}")
        module = self._clients.module
        arrays = {
            spec.name: np.ascontiguousarray(feeds[spec.name], dtype=spec.dtype)
            for spec in self.inputs
        }
        names = [spec.name for spec in self.outputs]

        def request() -> dict[str, np.ndarray]:
            from tritonclient.utils import np_to_triton_dtype

            inputs = []
            for name, array in arrays.items():
                item = module.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
                item.set_data_from_numpy(array)
                inputs.append(item)
            wanted = [module.InferRequestedOutput(name) for name in names]
            result = self._clients.call("infer", self.model, inputs, outputs=wanted)
            return {name: result.as_numpy(name) for name in names}

        return request

    def close(self) -> None:
        self._clients.close()


def _wait_ready(clients: _Clients, model: str, timeout: float) -> None:
    """Poll server and model readiness until `timeout`; raise one clear error."""
    deadline = time.monotonic() + timeout
    delay, reason, server_up = 0.1, "", False
    while True:
        try:
            server_up = bool(clients.call("is_server_ready"))
            if server_up and clients.call("is_model_ready", model):
                return
            reason = "server not ready" if not server_up else "model not ready"
        except Exception as exc:
            clients.reset()
            server_up, reason = False, _first_line(exc)
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    url = clients.endpoint.url
    if server_up:
        raise TritonUnavailableError(
            f"Triton server at {url} has no ready model {model!r} after {timeout:g} s "
            "(is it in the model repository? see `main.py export-triton`)"
        )
    raise TritonUnavailableError(
        f"Triton server at {url} not ready for model {model!r} after {timeout:g} s: {reason}"
    )
