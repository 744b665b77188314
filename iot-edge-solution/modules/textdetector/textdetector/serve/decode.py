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
RAW_TYPES = frozenset({
    "", "application/octet-stream", "image/jpeg", "image/jpg", "image/pjpeg", "image/png",
    "image/bmp", "image/x-bmp", "image/x-ms-bmp", "image/webp",
})
FORMATS = "JPEG, PNG, BMP or WebP"
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                       0xCE, 0xCF})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
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
        raise RequestError(415, "unsupported_media_type",
                           f"unsupported content type {content_type!r}: send the image "
                           f"bytes as image/jpeg, image/png, image/bmp, image/webp or "
                           f"application/octet-stream")


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


def _jpeg_header(data: bytes) -> tuple[int, int]:
    """Width and height from the frame header; also checks the stream ends (EOI)."""
    size, i, dims = len(data), 2, None
    while i + 4 <= size:
        if data[i] != 0xFF:
            raise _bad("corrupt JPEG: marker expected")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker == 0xD9:
            break
        length = struct.unpack_from(">H", data, i + 2)[0]
        if length < 2:
            raise _bad("corrupt JPEG: bad segment length")
        if marker in _JPEG_SOF:
            if i + 9 > size:
                break
            height, width = struct.unpack_from(">HH", data, i + 5)
            dims = (width, height)
        elif marker == 0xDA:  # start of scan: entropy-coded data follows
            if dims is None:
                raise _bad("corrupt JPEG: scan before frame header")
            if data.find(b"\xff\xd9", i + 2 + length) < 0:
                raise _bad("truncated JPEG: end-of-image marker missing")
            return dims
        i += 2 + length
    raise _bad("truncated JPEG: no image data")


def _png_header(data: bytes) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise _bad("truncated PNG: header missing")
    width, height = struct.unpack_from(">II", data, 16)
    if data.find(b"IEND", 33) < 0:
        raise _bad("truncated PNG: end chunk missing")
    return width, height


def _bmp_header(data: bytes) -> tuple[int, int]:
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
    return abs(width), abs(height)


def _webp_header(data: bytes) -> tuple[int, int]:
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if len(data) < 30 or len(data) < riff_size + 8:
        raise _bad("truncated WebP")
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = struct.unpack_from("<I", data, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise _bad("corrupt WebP header")


_HEADERS = {"jpeg": _jpeg_header, "png": _png_header, "bmp": _bmp_header, "webp": _webp_header}


def read_header(data: bytes, limits: Limits) -> ImageHeader:
    """Validate an encoded image without decoding it: 400 / 413 as a `RequestError`."""
    if not data:
        raise RequestError(400, "empty_body", "empty request body: send the image bytes")
    if len(data) > limits.max_body_bytes:
        raise RequestError(413, "payload_too_large",
                           f"body of {len(data)} bytes is over the limit of "
                           f"{limits.max_body_bytes} bytes")
    kind = sniff(data)
    if kind is None:
        raise _bad(f"not a supported image: expected {FORMATS} bytes")
    try:
        width, height = _HEADERS[kind](data)
    except (struct.error, IndexError):
        raise _bad(f"truncated {kind.upper()} header") from None
    if width <= 0 or height <= 0:
        raise _bad(f"{kind.upper()} header declares an empty image ({width}x{height})")
    if width * height > limits.max_pixels:
        raise RequestError(413, "image_too_large",
                           f"image of {width}x{height} pixels is over the limit of "
                           f"{limits.max_pixels} pixels")
    return ImageHeader(kind, width, height)


def decode(data: bytes, header: ImageHeader) -> np.ndarray:
    """Decode to BGR uint8 (EXIF orientation ignored: boxes match the pixels as sent)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _DECODE_FLAGS)
    if image is None:
        raise _bad(f"corrupt {header.kind.upper()}: cannot decode the image data")
    if image.shape[:2] != (header.height, header.width):
        raise _bad(f"corrupt {header.kind.upper()}: decoded size differs from its header")
    return image
