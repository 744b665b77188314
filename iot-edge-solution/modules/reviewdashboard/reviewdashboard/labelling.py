"""The label POST and the export download: checks, storage round-trips, responses.

Both are POSTs from the dashboard's own pages only (`same_origin`, as sign-in and
sign-out; the session cookie is SameSite=Strict); a label body is validated by
`labels.parse_request` and answered 400 in one line when refused.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

from .auth import same_origin
from .export import ExportError, export
from .labels import MAX_BODY, LabelError, make_label, parse_request
from .pages import text_of
from .storage import FrameStore

log = logging.getLogger("reviewdashboard.labels")
EXPORTS = web.AppKey("exports", asyncio.Lock)
REVIEWER = "reviewer"  # the dashboard signs in with one shared token: no user names
ATTEMPTS = 3  # label writes retried when another write came in between
FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store"}


def _refuse(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers=NO_STORE)


def _check_post(request: web.Request, what: str) -> web.Response | None:
    if not same_origin(request):
        return _refuse(403, f"{what} from another site refused")
    if request.content_type != FORM:
        return _refuse(415, f"{what}: expected {FORM}")
    if (request.content_length or 0) > MAX_BODY:
        return _refuse(413, f"{what}: request body over {MAX_BODY} bytes")
    return None


async def post_label(
    request: web.Request, store: FrameStore, container: str, name: str
) -> web.Response:
    """Store one line's label in the frame's sidecar; JSON of the line, or 303 back to
    the frame's page for a plain form."""
    refused = _check_post(request, "label")
    if refused is not None:
        return refused
    raw = await request.content.read(MAX_BODY + 1)
    frame = await store.frame(container, name)
    if frame is None:
        return _refuse(404, "not found")
    try:
        wanted = parse_request(raw, len(frame.boxes))
    except LabelError as exc:
        return _refuse(400, f"label refused: {exc}")
    line = make_label(wanted, frame.boxes[wanted.index], text_of(frame, wanted.index), REVIEWER)
    for _ in range(ATTEMPTS):
        try:
            sidecar, etag = await store.labels(container, name)
        except LabelError as exc:
            return _refuse(409, f"the stored labels cannot be read: {exc}")
        try:
            await store.save_labels(sidecar.with_line(line), etag)
            break
        except (ResourceModifiedError, ResourceExistsError):
            continue  # another label of this frame was written meanwhile: read it again
    else:
        return _refuse(409, "labels of this frame kept changing: try again")
    log.info("%s/%s line %d %s by %s", container, name, line.index, line.status, line.by)
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(asdict(line), headers=NO_STORE)
    location = f"/c/{quote(container)}/f/{quote(name)}"
    return web.Response(status=303, headers={"Location": location, **NO_STORE})


async def export_zip(
    request: web.Request,
    store: FrameStore,
    containers: tuple[str, ...],
    headers: dict[str, str],
) -> web.StreamResponse:
    """The dataset of every labelled line as a zip download (one export at a time)."""
    refused = _check_post(request, "export")
    if refused is not None:
        return refused
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = f"labels-{stamp}"
    async with request.app[EXPORTS]:
        with tempfile.TemporaryDirectory(prefix="dashboard-export-") as work:
            try:
                summary = await export(store, containers, Path(work) / folder)
            except ExportError as exc:
                return _refuse(409, str(exc))
            archive = await asyncio.to_thread(
                shutil.make_archive, str(Path(work) / folder), "zip", work, folder
            )
            log.info("exported %d train and %d val lines", summary.train, summary.val)
            return await _send(request, Path(archive), f"{folder}.zip", headers)


async def _send(
    request: web.Request, path: Path, filename: str, headers: dict[str, str]
) -> web.StreamResponse:
    """Stream the file (the headers are sent before the middleware could add any)."""
    response = web.StreamResponse(
        headers={
            **headers,
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{filename}"',
            **NO_STORE,
        }
    )
    response.content_length = path.stat().st_size
    await response.prepare(request)
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, 1 << 20):
            await response.write(chunk)
    await response.write_eof()
    return response
