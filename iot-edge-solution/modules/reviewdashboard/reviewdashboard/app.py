"""The aiohttp application: pages, images and thumbnails served through this process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from aiohttp import web
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from . import live, pages
from .auth import Gate, check_host, host_check_needed
from .config import ConfigError, DashboardSettings, load
from .frames import valid_name
from .labelling import EXPORTS, export_zip, post_label
from .labels import LabelError, Sidecar
from .storage import BlobTooLarge, Filters, FrameStore
from .thumbs import ThumbCache, limit_pixels, thumbnail

log = logging.getLogger("reviewdashboard")
SETTINGS = web.AppKey("settings", DashboardSettings)
STORE = web.AppKey("store", FrameStore)
THUMBS = web.AppKey("thumbs", ThumbCache)
GATE = web.AppKey("gate", Gate)
BUILDS = web.AppKey("builds", asyncio.Semaphore)
THUMB_BUILDS = 2  # thumbnails made at once (each decodes at most DECODE_PIXELS)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Storage failures become short pages (404/502/503); nothing secret is echoed."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = web.Response(status=exc.status, text=exc.text or exc.reason)
    except ResourceNotFoundError:
        response = web.Response(status=404, text="not found")
    except HttpResponseError as exc:
        log.warning("storage refused %s: %s", request.path, exc.reason)
        response = web.Response(status=502, text="storage refused the request")
    except AzureError as exc:
        log.warning("storage unreachable for %s: %s", request.path, type(exc).__name__)
        response = web.Response(status=503, text="storage unreachable, try again shortly")
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)  # the Live page sets its own policy
    return response


def _container(request: web.Request) -> str:
    name = request.match_info["container"]
    if name not in request.app[SETTINGS].containers:
        raise web.HTTPNotFound(text=f"unknown container {name!r}")
    return name


def _blob(request: web.Request) -> tuple[str, str]:
    container, name = _container(request), request.match_info["name"]
    if not valid_name(name):
        raise web.HTTPBadRequest(text="not an archived frame name")
    return container, name


def _when(request: web.Request, key: str) -> datetime | None:
    raw = request.query.get(key, "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"invalid {key} {raw[:40]!r}: expected YYYY-MM-DDTHH:MM (UTC)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _html(request: web.Request, title: str, active: str, body: str) -> web.Response:
    s = request.app[SETTINGS]
    return web.Response(
        text=pages.layout(
            title, s.containers, active, body, s.counter_interval, request.app[GATE].enabled
        ),
        content_type="text/html",
    )


async def index(request: web.Request) -> web.Response:
    return _html(request, "frames", "", pages.index(request.app[SETTINGS].containers))


async def listing(request: web.Request) -> web.Response:
    container = _container(request)
    filters = Filters(
        request.query.get("source", "").strip()[:200],
        _when(request, "since"),
        _when(request, "until"),
    )
    token = request.query.get("page") or None
    if token is not None and len(token) > 1024:
        raise web.HTTPBadRequest(text="invalid page token")
    try:
        page = await request.app[STORE].list_page(container, token, filters)
    except ResourceNotFoundError:
        page = pages.Page([], None)  # nothing archived yet
    except HttpResponseError:
        if token is None:
            raise
        raise web.HTTPBadRequest(text="invalid page token") from None
    return _html(request, container, container, pages.listing(container, page, filters))


async def detail(request: web.Request) -> web.Response:
    container, name = _blob(request)
    store = request.app[STORE]
    frame = await store.frame(container, name)
    if frame is None:
        raise web.HTTPNotFound(text="not found")
    try:
        sidecar, problem = (await store.labels(container, name))[0], ""
    except LabelError as exc:
        sidecar, problem = Sidecar(container, name), str(exc)
    return _html(request, name, container, pages.detail(frame, sidecar, problem))


def _jpeg(data: bytes) -> web.Response:
    """Image bytes, never kept by the browser: after sign-out they must not be shown."""
    return web.Response(
        body=data, content_type="image/jpeg", headers={"Cache-Control": "private, no-store"}
    )


async def _original(request: web.Request, key: tuple[str, str]) -> bytes:
    try:
        return await request.app[STORE].image(*key)
    except BlobTooLarge:
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.app[SETTINGS].max_image_bytes,
            actual_size=0,
            text="stored blob is over DASHBOARD_MAX_IMAGE_BYTES",
        ) from None


async def image(request: web.Request) -> web.Response:
    return _jpeg(await _original(request, _blob(request)))


async def thumb(request: web.Request) -> web.Response:
    key = _blob(request)
    cache = request.app[THUMBS]
    data = cache.get(key)
    if data is None:
        async with request.app[BUILDS]:  # a few at a time: memory stays bounded
            data = cache.get(key) or await _build_thumb(request, key)
        cache.put(key, data)
    return _jpeg(data)


async def _build_thumb(request: web.Request, key: tuple[str, str]) -> bytes:
    original = await _original(request, key)
    try:
        return await asyncio.to_thread(thumbnail, original, request.app[SETTINGS].thumb_size)
    except ValueError:
        raise web.HTTPUnsupportedMediaType(
            text="stored blob is not an image within the limits"
        ) from None


async def live_page(request: web.Request) -> web.Response:
    """Each module's live preview (DASHBOARD_PREVIEW_URLS), framed."""
    urls = request.app[SETTINGS].preview_urls
    response = _html(request, "live", "/live", live.page(urls))
    response.headers["Content-Security-Policy"] = live.csp(urls)
    response.headers["Cache-Control"] = "no-store"
    return response


async def counters(request: web.Request) -> web.Response:
    return web.json_response(
        {"containers": await request.app[STORE].counters()}, headers={"Cache-Control": "no-store"}
    )


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def style(request: web.Request) -> web.Response:
    return web.Response(text=pages.STYLE, content_type="text/css")


async def live_js(request: web.Request) -> web.Response:
    return web.Response(text=pages.LIVE_JS, content_type="application/javascript")


async def label_js(request: web.Request) -> web.Response:
    return web.Response(text=pages.LABEL_JS, content_type="application/javascript")


async def label(request: web.Request) -> web.Response:
    return await post_label(request, request.app[STORE], *_blob(request))


async def export_labels(request: web.Request) -> web.StreamResponse:
    s = request.app[SETTINGS]
    return await export_zip(request, request.app[STORE], s.containers, SECURITY_HEADERS)


def create_app(settings: DashboardSettings, store: FrameStore | None = None) -> web.Application:
    """The application; the store (and its storage client) is made on start-up."""
    gate = Gate(settings)
    checks = [check_host(settings)] if host_check_needed(settings) else []
    app = web.Application(middlewares=[errors, *checks, gate.middleware])
    app[SETTINGS], app[GATE] = settings, gate
    app[THUMBS], app[BUILDS] = ThumbCache(), asyncio.Semaphore(THUMB_BUILDS)
    app[EXPORTS] = asyncio.Lock()
    limit_pixels(settings.max_pixels)

    async def lifecycle(app: web.Application):
        app[STORE] = store or FrameStore(settings)
        yield
        await app[STORE].close()

    app.cleanup_ctx.append(lifecycle)
    app.add_routes(
        [
            web.get("/", index),
            web.get("/healthz", health),
            web.get("/c/{container}", listing),
            web.get("/c/{container}/f/{name}", detail),
            web.post("/c/{container}/f/{name}/labels", label),
            web.post("/export", export_labels),
            web.get("/images/{container}/{name}", image),
            web.get("/thumbs/{container}/{name}", thumb),
            web.get("/live", live_page),
            web.get("/api/counters", counters),
            web.get("/static/style.css", style),
            web.get("/static/live.js", live_js),
            web.get("/static/labels.js", label_js),
            *gate.routes(),
        ]
    )
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the dashboard until interrupted; one line and exit 2 on a bad setting.
    `export-labels ...` runs the label export instead (see exportcli)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export-labels"]:
        from .exportcli import main as export_labels

        return export_labels(argv[1:])
    argparse.ArgumentParser(
        description="Review dashboard for archived frames. Configured "
        "by DASHBOARD_* environment variables (see README). `export-labels --out DIR` "
        "writes the labelled lines as a training dataset (--help for its options)."
    ).parse_args(argv)
    try:
        settings = load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    try:
        FrameStore(settings)  # fail fast on a malformed connection string
    except ValueError:
        print(
            "error: invalid value for DASHBOARD_STORAGE_CONNECTION_STRING: expected a Blob "
            "Storage connection string",
            file=sys.stderr,
        )
        return 2
    log.info(
        "review dashboard on http://%s:%d (containers: %s)",
        settings.host,
        settings.port,
        ", ".join(settings.containers),
    )
    if settings.token:
        log.info("sign-in required (DASHBOARD_TOKEN is set)")
    else:
        log.warning(
            "DASHBOARD_TOKEN is not set: the dashboard is open, without sign-in, to "
            "anyone on this machine (listening on loopback only)"
        )
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            print=None,
            access_log=None,
        )
    except OSError as exc:
        print(
            f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    return 0
