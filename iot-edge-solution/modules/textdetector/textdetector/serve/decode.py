"""Request bodies to images: content-type policy, header sniffing, size limits, decoding.

Image dimensions are read from the JPEG/PNG/BMP/WebP header before any pixel is decoded,
so a decompression bomb (a small file declaring a huge image) is refused with 413
without allocating it. Truncated files are refused with 400.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import RequestError

# Declared content types accepted for a raw body; the bytes decide the real format.
RAW_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/png",
        "image/bmp",
        "image/x-bmp",
        "image/x-ms-bmp",
        "image/webp",
    }
)
FORMATS = "JPEG, PNG, BMP or WebP"
# What libjpeg(-turbo) does with each marker code where a segment must start: a frame
# header it decodes (SOF0-3, SOF9, SOF10), a segment it skips by its length, or a marker
# with no length; every other code (00, the reserved codes, the SOF types it refuses, a
# second SOI) makes it fail or resynchronise, so the reader refuses it outright.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA})
_JPEG_SEGMENTS = frozenset({0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
_PNG_MAX_SIDE = (1 << 31) - 1
_WEBP_VP8_START = b"\x9d\x01\x2a"
_DECODE_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION


@dataclass(frozen=True)
class Limits:
    """What one request may carry."""

    max_body_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class ImageHeader:
    """What the header says about an encoded image, checked before decoding."""

    kind: str  # jpeg, png, bmp or webp
    width: int
    height: int


def check_content_type(content_type: str) -> None:
    """415 unless a raw body of this declared type may carry an image."""
    if content_type.lower() not in RAW_TYPES:
        raise RequestError(
            415,
            "unsupported_media_type",
            f"unsupported content type {content_type!r}: send the image "
            f"bytes as image/jpeg, image/png, image/bmp, image/webp or "
            f"application/octet-stream",
        )


def sniff(data: bytes) -> str | None:
    """The image format the magic bytes announce, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _bad(message: str) -> RequestError:
    return RequestError(400, "invalid_image", message)


def _jpeg_marker(data: bytes, i: int) -> tuple[int, int, bool]:
    """The marker libjpeg reads from `i`, where its segment starts, and whether it skipped
    anything on the way.

    Where libjpeg expects a marker it skips stray bytes and stuffed zeros (FF 00) with a
    warning, swallows fill bytes (FF FF...) and reads the next marker code: a segment
    after such bytes is decoded, so it is read here too (a frame header hidden there
    counts), then the image is refused. A code libjpeg does not know is refused at once.
    """
    skipped = False
    while True:
        while data[i] != 0xFF:
            i, skipped = i + 1, True
        while data[i + 1] == 0xFF:
            i += 1
        if data[i + 1] != 0x00:
            break
        i, skipped = i + 2, True
    marker = data[i + 1]
    if marker not in _JPEG_SOF | _JPEG_SEGMENTS | _JPEG_STANDALONE | {_JPEG_SOS, _JPEG_EOI}:
        raise _bad(f"corrupt JPEG: marker 0x{marker:02X} where a segment must start")
    return marker, i + 2, skipped


def _jpeg_frame(data: bytes, at: int, length: int) -> tuple[int, int]:
    """Width and height of the frame header (SOFn) whose body starts at `at`."""
    if length < 8:
        raise _bad("corrupt JPEG: frame header too short")
    height, width = struct.unpack_from(">HH", data, at + 3)
    return width, height


def _jpeg_header(data: bytes) -> tuple[int, int, str]:
    """Width and height of the one frame libjpeg decodes, walking the markers as it does
    up to the first scan, and what is wrong with the stream ('' when nothing); also
    checks the stream ends (EOI)."""
    size, i, dims, fault = len(data), 2, None, ""
    while i < size:
        marker, at, skipped = _jpeg_marker(data, i)
        if skipped:
            fault = "corrupt JPEG: stray bytes or FF 00 where a marker must start"
        if marker in _JPEG_STANDALONE:
            i = at
            continue
        if marker == _JPEG_EOI:
            break
        length = struct.unpack_from(">H", data, at)[0]
        if length < 2 or at + length > size:
            raise _bad("corrupt JPEG: bad segment length")
        if marker in _JPEG_SOF:
            if dims is not None:
                raise _bad("corrupt JPEG: second frame header")
            dims = _jpeg_frame(data, at, length)
        elif marker == _JPEG_SOS:
            if dims is None:
                raise _bad("corrupt JPEG: scan before frame header")
            if data.find(b"\xff\xd9", at + length) < 0:
                raise _bad("truncated JPEG: end-of-image marker missing")
            return (*dims, fault)
        i = at + length
    raise _bad("truncated JPEG: no image data")


def _png_header(data: bytes) -> tuple[int, int, str]:
    """IHDR must be the first chunk, 13 bytes long, with sides libpng accepts."""
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise _bad("truncated PNG: header missing")
    width, height = struct.unpack_from(">II", data, 16)
    if max(width, height) > _PNG_MAX_SIDE:
        raise _bad(f"corrupt PNG: side over {_PNG_MAX_SIDE}")
    if data.find(b"IEND", 33) < 0:
        raise _bad("truncated PNG: end chunk missing")
    return width, height, ""


def _bmp_header(data: bytes) -> tuple[int, int, str]:
    if len(data) < 26:
        raise _bad("truncated BMP: header missing")
    file_size = struct.unpack_from("<I", data, 2)[0]
    dib_size = struct.unpack_from("<I", data, 14)[0]
    if dib_size == 12:
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    if file_size and len(data) < file_size:
        raise _bad(f"truncated BMP: {len(data)} of {file_size} bytes")
    return abs(width), abs(height), ""


def _webp_header(data: bytes) -> tuple[int, int, str]:
    """Canvas size from the first chunk (VP8 key frame, VP8L or VP8X), as libwebp reads it."""
    riff_size, chunk_size = (
        struct.unpack_from("<I", data, 4)[0],
        struct.unpack_from("<I", data, 16)[0],
    )
    if len(data) < 30 or len(data) < riff_size + 8 or 20 + chunk_size > len(data):
        raise _bad("truncated WebP")
    chunk = data[12:16]
    if chunk == b"VP8 " and data[20] & 1 == 0 and data[23:26] == _WEBP_VP8_START:
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF, ""
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = struct.unpack_from("<I", data, 21)[0]
        if bits >> 29:
            raise _bad("corrupt WebP: unknown lossless version")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, ""
    if chunk == b"VP8X" and chunk_size == 10:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height, ""
    raise _bad("corrupt WebP header")


_HEADERS = {"jpeg": _jpeg_header, "png": _png_header, "bmp": _bmp_header, "webp": _webp_header}


def read_header(data: bytes, limits: Limits) -> ImageHeader:
    """Validate an encoded image without decoding it: 400 / 413 as a `RequestError`."""
    if not data:
        raise RequestError(400, "empty_body", "empty request body: send the image bytes")
    if len(data) > limits.max_body_bytes:
        raise RequestError(
            413,
            "payload_too_large",
            f"body of {len(data)} bytes is over the limit of {limits.max_body_bytes} bytes",
        )
    kind = sniff(data)
    if kind is None:
        raise _bad(f"not a supported image: expected {FORMATS} bytes")
    try:
        width, height, fault = _HEADERS[kind](data)
    except (struct.error, IndexError):
        raise _bad(f"truncated {kind.upper()} header") from None
    if width <= 0 or height <= 0:
        raise _bad(f"{kind.upper()} header declares an empty image ({width}x{height})")
    if width * height > limits.max_pixels:
        raise RequestError(
            413,
            "image_too_large",
            f"image of {width}x{height} pixels is over the limit of {limits.max_pixels} pixels",
        )
    if fault:  # after the size check: a hidden bomb is named for what it is
        raise _bad(fault)
    return ImageHeader(kind, width, height)


def decode(data: bytes, header: ImageHeader) -> np.ndarray:
    """Decode to BGR uint8 (EXIF orientation ignored: boxes match the pixels as sent).

    A decoder failure is the client's bytes, never a server error: 413 when OpenCV's own
    pixel cap (OPENCV_IO_MAX_IMAGE_PIXELS, set from SERVE_MAX_PIXELS) or memory runs out,
    400 otherwise.
    """
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), _DECODE_FLAGS)
    except (cv2.error, MemoryError) as exc:
        raise _decoder_error(header, exc) from None
    if image is None:
        raise _bad(f"corrupt {header.kind.upper()}: cannot decode the image data")
    if image.shape[:2] != (header.height, header.width):
        raise _bad(f"corrupt {header.kind.upper()}: decoded size differs from its header")
    return image


def _decoder_error(header: ImageHeader, exc: BaseException) -> RequestError:
    """The 4xx answer for an exception the decoder raised (its text is not echoed)."""
    if isinstance(exc, MemoryError) or "MAX_IMAGE" in str(exc):
        return RequestError(
            413,
            "image_too_large",
            f"{header.kind.upper()} data decodes to an image over the pixel limit",
        )
    return _bad(f"corrupt {header.kind.upper()}: the decoder refused the image data")
