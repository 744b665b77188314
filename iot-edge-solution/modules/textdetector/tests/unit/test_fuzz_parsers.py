"""Fuzz targets (Hypothesis) for every parser that reads outside input: the image header
readers (checked against the real decoders), the request body reader (multipart), the
settings parsers and the module twin's desired-properties handler.

A few seconds each in the normal run; `make fuzz` runs them with FUZZ_EXAMPLES each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import http.client
import json
import math
import struct
import threading
import zlib
from pathlib import Path

import crafted_images as crafted
import cv2
import numpy as np
import pytest
from aiohttp import web
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

import textdetector.sinks.iothub  # noqa: F401  (before control.twin: they import each other)
from textdetector.config import RUN_GROUPS, ServeSettings, Settings, TritonSettings, load
from textdetector.control.live import LIVE_KEYS, LiveSettings
from textdetector.control.twin import apply_desired
from textdetector.errors import ConfigError
from textdetector.serve.body import BodyReader
from textdetector.serve.decode import Limits, read_header
from textdetector.serve.errors import RequestError

LIMITS = Limits(max_body_bytes=200_000, max_pixels=4096 * 4096)
SMALL = crafted.jpeg(24, 16)
SEGMENTS, ENTROPY = crafted.jpeg_segments(SMALL)
TABLES = [seg for marker, seg in SEGMENTS if marker not in (0xC0, 0xDA)]
SOS = next(seg for marker, seg in SEGMENTS if marker == 0xDA)


def decoder_size(data: bytes, scale: int) -> tuple[int, int] | None:
    """(width, height) the real decoder produces (JPEG: libjpeg's own 1/8 scale, cheap
    whatever the size), or None if it refuses."""
    flags = cv2.IMREAD_REDUCED_GRAYSCALE_8 if scale == 8 else cv2.IMREAD_GRAYSCALE
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        return None
    return None if image is None else (image.shape[1], image.shape[0])


def header_or_none(data: bytes) -> tuple[int, int] | None:
    try:
        header = read_header(data, LIMITS)
    except RequestError as exc:
        assert exc.status in (400, 413) and exc.message
        return None
    return header.width, header.height


def assert_agrees_with_decoder(data: bytes, scale: int = 1) -> None:
    """The header reader refuses, or the decoder refuses, or both see the same size."""
    dims = header_or_none(data)
    if dims is None:
        return
    decoded = decoder_size(data, scale)
    if decoded is not None:
        assert decoded == (math.ceil(dims[0] / scale), math.ceil(dims[1] / scale)), (dims, decoded)


def sof(width: int, height: int) -> bytes:
    frame = next(seg for marker, seg in SEGMENTS if marker == 0xC0)
    return frame[:5] + struct.pack(">HH", height, width) + frame[9:]


def segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def hidden(blocks: list[bytes]) -> bytes:
    """`blocks` behind FF 00 and a length: a segment to a careless reader, skipped as
    stray bytes by libjpeg, which then reads the blocks."""
    inner = b"".join(blocks)
    return b"\xff\x00" + struct.pack(">H", (len(inner) + 2) & 0xFFFF) + inner


SIDES = st.integers(0, 5000)
PLAIN_BLOCK = st.one_of(
    st.sampled_from(TABLES),
    st.builds(sof, SIDES, SIDES),
    st.builds(lambda n: b"\xff" * n, st.integers(1, 4)),
    st.builds(lambda b: b"\xff\x00" + b, st.binary(min_size=0, max_size=4)),
    st.builds(segment, st.integers(0, 255), st.binary(max_size=16)),
    st.builds(lambda m: bytes([0xFF, m]), st.sampled_from([0x01, *range(0xD0, 0xD8)])),
    st.binary(min_size=1, max_size=8),
    st.builds(
        lambda w, h: b"".join(TABLES) + sof(w, h) + SOS + ENTROPY + b"\xff\xd9", SIDES, SIDES
    ),  # a whole image, tables to end
)
JPEG_BLOCK = st.one_of(PLAIN_BLOCK, st.builds(hidden, st.lists(PLAIN_BLOCK, max_size=3)))


@fuzz(1000)
@given(st.lists(JPEG_BLOCK, max_size=8), st.booleans(), st.integers(0, len(ENTROPY)))
@pytest.mark.slow
def test_fuzz_jpeg_marker_streams_agree_with_libjpeg(blocks, with_frame, cut):
    """Finding 1, fuzzed: JPEG marker streams built from real tables, frame headers of any
    size, fill bytes, FF 00, stray bytes and arbitrary markers: the header reader refuses
    the file or reads the size libjpeg decodes."""
    frame = [sof(24, 16)] if with_frame else []
    data = b"\xff\xd8" + b"".join(blocks) + b"".join(frame) + SOS + ENTROPY[:cut] + b"\xff\xd9"
    assert_agrees_with_decoder(data, scale=8)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return crafted.png_chunk(kind, body)


PNG_CHUNK = st.one_of(
    st.builds(
        lambda w, h, extra: png_chunk(
            b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0) + extra
        ),
        SIDES,
        SIDES,
        st.binary(max_size=2),
    ),
    st.builds(
        png_chunk,
        st.sampled_from([b"tEXt", b"gAMA", b"IDAT", b"acTL", b"zzZz"]),
        st.binary(max_size=24),
    ),
    st.builds(lambda n: png_chunk(b"IDAT", zlib.compress(b"\0" * n)), st.integers(0, 4096)),
)


@fuzz(600)
@given(st.lists(PNG_CHUNK, max_size=5), st.booleans())
@pytest.mark.slow
def test_fuzz_png_chunk_orders_agree_with_libpng(chunks, valid_first):
    """Findings 1 (PNG), fuzzed: chunk sequences with IHDRs of any size and length, in any
    order: refused, or the size libpng decodes."""
    first = [crafted.png(16, 12)[8:41]] if valid_first else []
    data = b"\x89PNG\r\n\x1a\n" + b"".join(first + chunks) + png_chunk(b"IEND", b"")
    assert_agrees_with_decoder(data)


WEBP = [crafted.webp(), crafted.webp(lossless=True), crafted.webp_vp8x(16)]


@fuzz(600)
@given(st.sampled_from(range(len(WEBP))), st.data())
@pytest.mark.slow
def test_fuzz_webp_headers_agree_with_libwebp(which, draw):
    """Finding 1 (WebP), fuzzed: real VP8/VP8L/VP8X files with header bytes changed:
    refused, or the size libwebp decodes."""
    data = bytearray(WEBP[which])
    for _ in range(draw.draw(st.integers(1, 4))):
        data[draw.draw(st.integers(0, min(40, len(data) - 1)))] = draw.draw(st.integers(0, 255))
    assert_agrees_with_decoder(bytes(data))


class BodyServer:
    """An aiohttp server on a thread whose one route reads its body with `BodyReader`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        threading.Thread(target=self._run, daemon=True).start()
        assert self.ready.wait(10)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            data = await BodyReader(request, LIMITS, 2.0, 10.0).read()
        except RequestError as exc:
            return web.json_response({"code": exc.code}, status=exc.status)
        except web.HTTPException as exc:  # the service's middleware answers these in JSON
            return web.json_response({"code": exc.reason}, status=exc.status)
        return web.json_response({"sha": hashlib.sha256(data).hexdigest()})

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/", self.handle)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self.ready.set()
        self.loop.run_forever()


@pytest.fixture(scope="module")
def body_server() -> BodyServer:
    return BodyServer()


PART_NAMES = st.sampled_from(["imageData", "image", "file", "data", "note", "x", ""])
PART = st.tuples(
    PART_NAMES,
    st.one_of(st.none(), st.sampled_from(["a.jpg", "", "b"])),
    st.one_of(st.binary(max_size=64), st.integers(0, 300_000).map(lambda n: b"\x00" * n)),
)


def multipart_body(boundary: str, parts: list, epilogue: bytes) -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode() + epilogue


def expected_part(parts: list) -> bytes | None:
    for name, filename, content in parts:
        if name in ("imageData", "image", "file", "data") or filename:
            return content
    return None


@pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionHeader")
@fuzz(300)
@given(
    st.lists(PART, max_size=4),
    st.text("abcXYZ019-_", min_size=1, max_size=30),
    st.binary(max_size=16),
    st.integers(0, 100),
    st.booleans(),
)
@pytest.mark.slow
def test_fuzz_multipart_bodies(body_server, parts, boundary, epilogue, cut, chunked):
    """Finding 7, fuzzed: multipart bodies of any shape, sizes across the limit, cut
    short, sent chunked or with a length: the image part's exact bytes, or a 4xx JSON
    answer; never a 500; every part counts against the limit."""
    body = multipart_body(boundary, parts, epilogue)
    whole = cut == 100
    body = body if whole else body[: len(body) * cut // 100]
    conn = http.client.HTTPConnection("127.0.0.1", body_server.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/",
            body=iter([body]) if chunked else body,
            encode_chunked=chunked,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        reply = conn.getresponse()
        status, answer = reply.status, json.loads(reply.read())
    finally:
        conn.close()
    assert status in (200, 400, 413), (status, answer)
    wanted = expected_part(parts)
    if status == 200:  # nothing over the limit was taken in
        assert (
            len(body) <= LIMITS.max_body_bytes + 64 * 1024
            or len(wanted or b"") <= LIMITS.max_body_bytes
        )
    if whole and wanted is not None and len(body) <= LIMITS.max_body_bytes:
        assert status == 200 and answer["sha"] == hashlib.sha256(wanted).hexdigest()


SETTINGS_FIELDS = [
    (cls, f)
    for cls in [*(c for c, _ in RUN_GROUPS.values()), ServeSettings, TritonSettings]
    for f in dataclasses.fields(cls)
    if "parse" in f.metadata
]


@fuzz(400)
@given(
    st.sampled_from(SETTINGS_FIELDS),
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"-?[0-9]{0,6}(\.[0-9]{0,4})?", fullmatch=True),
        st.sampled_from(["nan", "inf", "-inf", "1e309", "0x10", " 1 ", "true", "٣"]),
    ),
)
def test_fuzz_settings_parsers(target, text):
    """Settings from the environment (or a twin): any text is a value or a ConfigError
    naming the variable; never another exception."""
    cls, f = target
    try:
        value = load(cls, {f.metadata["env"]: text})
    except ConfigError as exc:
        assert f.metadata["env"] in str(exc)
        return
    assert isinstance(value, cls)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
DESIRED_KEYS = st.one_of(st.sampled_from(sorted(LIVE_KEYS)), st.text(max_size=12))


@fuzz(400)
@given(
    st.dictionaries(DESIRED_KEYS, JSON_VALUES, max_size=6),
    st.one_of(st.none(), st.integers(0, 10**6)),
)
@pytest.mark.slow
def test_fuzz_twin_desired_properties(desired, version):
    """The module twin's desired properties: any JSON patch is acknowledged key by key
    (200 applied or 400 with a reason), the acknowledgements are valid JSON, and the
    live settings stay valid (each value parses back to itself)."""
    live = LiveSettings(Settings())
    patch = {**desired, **({"$version": version} if version is not None else {})}
    acks = apply_desired(live, patch)
    assert set(acks) == {k for k in desired if not k.startswith("$")}
    assert all(ack["ac"] in (200, 400) and ack["ad"] for ack in acks.values())
    json.loads(json.dumps(acks, allow_nan=False))
    for key, value in live.snapshot().items():
        group, name = LIVE_KEYS[key]
        cls = type(getattr(Settings(), group))
        f = next(f for f in dataclasses.fields(cls) if f.name == name)
        if group in ("recognizer", "engine"):  # folders are reported as text, "" = default
            assert value == "" or f.metadata["parse"](value) == Path(value)
            continue
        assert value is None or f.metadata["parse"](str(value)) == value  # None: default


def test_path_with_an_unknown_user_is_a_config_error():
    """Found by `make fuzz` (test_fuzz_settings_parsers): a path setting of '~0' (the home
    of a user that does not exist) raised RuntimeError from pathlib, a traceback instead
    of the one-line ConfigError naming the variable."""
    from textdetector.config import RecognizerSettings

    with pytest.raises(ConfigError, match="CLS_MODEL_PATH"):
        load(RecognizerSettings, {"CLS_MODEL_PATH": "~0"})
