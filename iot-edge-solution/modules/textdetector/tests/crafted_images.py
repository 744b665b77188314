"""Crafted image files for the parser-hardening tests: real small images, then edited."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def jpeg(width: int = 64, height: int = 64) -> bytes:
    """A real grey baseline JPEG."""
    ok, data = cv2.imencode(".jpg", np.full((height, width), 200, np.uint8))
    assert ok
    return data.tobytes()


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The (marker, whole segment) pairs of a plain JPEG up to its first scan, and the rest."""
    segments, i = [], 2
    while True:
        marker = data[i + 1]
        length = struct.unpack_from(">H", data, i + 2)[0]
        segments.append((marker, data[i : i + 2 + length]))
        i += 2 + length
        if marker == 0xDA:
            return segments, data[i:]


def hidden_sof_jpeg(width: int, height: int, decoy: int = 64) -> bytes:
    """A JPEG whose markers, read segment by segment, describe a `decoy` x `decoy` image,
    while libjpeg decodes a `width` x `height` one.

    Right after SOI come the bytes FF 00 and a 16-bit "length": a reader that takes FF 00
    for a segment skips that many bytes; libjpeg skips FF 00 and the two length bytes as
    stray data and reads the segments hidden behind them (tables, a frame header of
    `width` x `height`, a scan of a few bytes, EOI: the rest it fills in as grey). The
    decoy JPEG follows, never read by libjpeg.
    """
    small = jpeg(decoy, decoy)
    segments, entropy = jpeg_segments(small)
    hidden = b""
    for marker, segment in segments:
        if marker == 0xC0:
            segment = segment[:5] + struct.pack(">HH", height, width) + segment[9:]
        if marker != 0xE0:
            hidden += segment
    hidden += entropy[:16].replace(b"\xff", b"\x00") + b"\xff\xd9"
    return b"\xff\xd8\xff\x00" + struct.pack(">H", len(hidden) + 2) + hidden + small[2:]


def with_segment_after_soi(data: bytes, marker: int, body: bytes = b"\0\0") -> bytes:
    """`data` with one extra segment (`marker`, a length, `body`) right after SOI."""
    return data[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body + data[2:]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 8, height: int = 8, ihdr_extra: bytes = b"") -> bytes:
    """A grey PNG; `ihdr_extra` makes its IHDR longer than the 13 bytes PNG defines."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0) + ihdr_extra
    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def webp(lossless: bool = False, side: int = 16) -> bytes:
    image = np.full((side, side, 3), 90, np.uint8)
    quality = 101 if lossless else 80
    ok, data = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
    assert ok
    return data.tobytes()


def webp_vp8x(canvas: int, chunk_size: int = 10) -> bytes:
    """A WebP with a VP8X header of a `canvas` x `canvas` canvas before a small image."""
    inner = webp()[12:]
    body = bytes([0, 0, 0, 0]) + (canvas - 1).to_bytes(3, "little") * 2
    body += b"\0" * (chunk_size - 10)
    chunks = b"VP8X" + struct.pack("<I", chunk_size) + body + inner
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + chunks
