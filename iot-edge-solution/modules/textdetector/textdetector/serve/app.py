"""The aiohttp application: routes, JSON errors, request metrics."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import __version__
from ..config import ServeSettings
from ..engines import InferenceEngine, TensorSpec
from ..engines.triton_engine import TritonEngine
from ..results import Detections
from .auth import check_host, host_check_needed, require_key
from .body import MULTIPART_SLACK, BodyReader, check_declared
from .decode import Limits, read_header
from .errors import RequestError
from .formats import custom_vision_prediction, lva_inferences
from .metrics import Metrics
from .pool import InferencePool

log = logging.getLogger(__name__)
POOL = web.AppKey("pool", InferencePool)
METRICS = web.AppKey("metrics", Metrics)
SETTINGS = web.AppKey("settings", ServeSettings)
CV_PREFIX = "/customvision/v3.0/Prediction/{project}/detect/iterations/{iteration}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PLATFORMS = {
    "onnxruntime": "onnxruntime_onnx",
    "openvino": "openvino",
    "tensorrt": "tensorrt_plan",
}  # KServe v2 platform names of the local engines
DATATYPES = {
    "float32": "FP32",
    "float16": "FP16",
    "float64": "FP64",
    "int64": "INT64",
    "int32": "INT32",
    "int8": "INT8",
    "uint8": "UINT8",
    "bool": "BOOL",
}


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": message, "code": code, "status": status}, status=status, headers=headers
    )


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error; every request is counted and timed."""
    start = time.perf_counter()
    try:
        response = await handler(request)
    except RequestError as exc:
        response = json_error(exc.status, exc.code, exc.message, exc.headers)
        if exc.status == 408:  # a stalled client: do not wait for the rest of its body
            response.force_close()
    except web.HTTPException as exc:
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        code = (exc.reason or "error").lower().replace(" ", "_")
        response = json_error(exc.status, code, exc.text or exc.reason or "error", headers)
        if exc.status == 404:
            response = json_error(
                404,
                "not_found",
                f"no route {request.path}; see /score, /image, /v2/health/ready, /metrics",
            )
        if exc.status == 405:
            response.body = json.dumps(
                {
                    "error": f"method {request.method} not allowed; allowed: "
                    f"{headers.get('Allow', '')}",
                    "code": "method_not_allowed",
                    "status": 405,
                }
            ).encode()
    except Exception:  # a bug, never the client's fault: log it, keep serving
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = json_error(500, "internal_error", "internal server error")
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    request.app[METRICS].record_request(
        name, request.method, response.status, time.perf_counter() - start
    )
    return response


async def _detect(request: web.Request) -> Detections:
    """Check the headers, take a place in the pool, then read, check and score the body."""
    settings = request.app[SETTINGS]
    limits = Limits(settings.max_body_bytes, settings.max_pixels)
    check_declared(request, limits)
    pool = request.app[POOL]
    with pool.admission() as slot:
        body = BodyReader(request, limits, settings.read_timeout, settings.body_timeout)
        data = await body.read()
        header = read_header(data, limits)
        return await pool.detect(data, header, settings.request_timeout, slot)


async def score(request: web.Request) -> web.Response:
    """LVA/AVA HTTP extension: 200 with inferences, 204 when nothing was found."""
    detections = await _detect(request)
    body = lva_inferences(detections, request.app[SETTINGS].tag)
    if body is None:
        return web.Response(status=204)
    return web.json_response(body)


async def custom_vision(request: web.Request) -> web.Response:
    """Custom Vision object-detection prediction (exported-container and v3.0 routes)."""
    detections = await _detect(request)
    settings = request.app[SETTINGS]
    project = request.match_info.get("project", "")
    iteration = request.match_info.get("iteration", settings.model_name)
    return web.json_response(custom_vision_prediction(detections, settings.tag, project, iteration))


async def live(request: web.Request) -> web.Response:
    return web.json_response({"live": True})


async def ready(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    if not pool.ready:
        return web.json_response(
            {"ready": False}, status=503, headers={"Retry-After": str(pool.retry_after)}
        )
    return web.json_response({"ready": True})


def _model(request: web.Request) -> InferencePool:
    name = request.match_info["name"]
    if name != request.app[SETTINGS].model_name:
        raise RequestError(404, "model_not_found", f"unknown model {name!r}")
    return request.app[POOL]


async def model_metadata(request: web.Request) -> web.Response:
    pool = _model(request)
    return web.json_response(model_info(request.app[SETTINGS], pool))


async def model_ready(request: web.Request) -> web.Response:
    _model(request)
    return await ready(request)


def tensor_info(spec: TensorSpec) -> dict[str, Any]:
    """A model input or output as KServe v2 tensor metadata (dynamic dimensions -1)."""
    return {
        "name": spec.name,
        "datatype": DATATYPES.get(spec.dtype, spec.dtype.upper()),
        "shape": [-1 if d is None else d for d in spec.shape],
    }


def engine_platform(engine: InferenceEngine) -> str:
    """The KServe platform of a loaded engine; a Triton engine's is the served model's."""
    if isinstance(engine, TritonEngine):
        return engine.platform
    return PLATFORMS.get(engine.name, engine.name)


def engine_info(pool: InferencePool) -> dict[str, Any]:
    """Platform, inputs and outputs of the detection engine loaded (empty until loaded)."""
    if pool.detector is None:
        return {"platform": "", "inputs": [], "outputs": []}
    engine = pool.detector.engine
    return {
        "platform": engine_platform(engine),
        "inputs": [tensor_info(spec) for spec in engine.inputs],
        "outputs": [tensor_info(spec) for spec in engine.outputs],
    }


def model_info(settings: ServeSettings, pool: InferencePool) -> dict[str, Any]:
    """KServe v2 model metadata of the engine loaded, plus what this service adds."""
    return {
        "name": settings.model_name,
        "versions": [__version__],
        **engine_info(pool),
        "parameters": {
            "engine": pool.engine_name,
            "workers": pool.workers,
            "performance_hint": pool.performance_hint,
            "queue_size": pool.queue_size,
            "tag": settings.tag,
            "read_text": pool.recognizer is not None,
            "max_pixels": settings.max_pixels,
            "max_body_bytes": settings.max_body_bytes,
        },
    }


async def server_metadata(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "name": "textdetector",
            "version": __version__,
            "extensions": ["lva_http_extension", "custom_vision"],
        }
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[METRICS].render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Prometheus-Format": "0.0.4"},
    )


def create_app(settings: ServeSettings, pool: InferencePool, metrics_: Metrics) -> web.Application:
    """The application; the caller starts `pool` (model load + warm-up) after listening."""
    checks = [require_key(settings.api_key)] if settings.api_key else []
    if host_check_needed(settings):
        checks.append(check_host(settings))
    app = web.Application(
        middlewares=[errors_and_metrics, *checks],
        client_max_size=settings.max_body_bytes + MULTIPART_SLACK,
    )
    app[POOL], app[METRICS], app[SETTINGS] = pool, metrics_, settings
    app.router.add_post("/score", score)
    app.router.add_post("/image", custom_vision)
    app.router.add_post(CV_PREFIX + "/image", custom_vision)
    app.router.add_post(CV_PREFIX + "/image/nostore", custom_vision)
    app.router.add_get("/v2", server_metadata)
    app.router.add_get("/v2/health/live", live)
    app.router.add_get("/v2/health/ready", ready)
    app.router.add_get("/v2/models/{name}", model_metadata)
    app.router.add_get("/v2/models/{name}/ready", model_ready)
    app.router.add_get("/metrics", metrics)
    return app
