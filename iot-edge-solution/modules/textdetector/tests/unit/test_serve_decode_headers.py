"""Image header readers against crafted files: they must agree with the real decoders
(libjpeg, libpng, libwebp) or refuse the file before anything is decoded."""

from __future__ import annotations

import struct

import crafted_images as crafted
import cv2
import numpy as np
import pytest

from textdetector.serve.decode import ImageHeader, Limits, decode, read_header
from textdetector.serve.errors import RequestError

LIMITS = Limits(max_body_bytes=20 << 20, max_pixels=4096 * 4096)


def refused(data: bytes, limits: Limits = LIMITS) -> RequestError:
    with pytest.raises(RequestError) as err:
        read_header(data, limits)
    return err.value


def test_jpeg_frame_hidden_behind_ff00_is_read_and_refused_413():
    """Finding 1 (HIGH): a 710-byte JPEG whose segments, read one by one, say 64x64 while
    libjpeg decodes 12000x12000 (its frame header hidden behind FF 00) is refused from
    the header with 413, naming the size libjpeg would allocate."""
    data = crafted.hidden_sof_jpeg(12000, 12000)
    assert len(data) < 2000
    error = refused(data)
    assert (error.status, error.code) == (413, "image_too_large")
    assert "12000x12000" in error.message


def test_libjpeg_really_decodes_the_hidden_frame():
    """Finding 1: the crafted file is a real threat, not a parser disagreement on junk:
    OpenCV's libjpeg decodes the hidden frame's size (small here, to stay cheap)."""
    data = crafted.hidden_sof_jpeg(300, 200)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (200, 300, 3)


def test_small_hidden_frame_and_stray_bytes_are_400():
    """Finding 1: FF 00 or stray bytes where a marker must start are refused (400) even
    when the image behind them is within the limit."""
    for data in (
        crafted.hidden_sof_jpeg(100, 100),
        crafted.jpeg()[:2] + b"\xff\xff\x00\x00" + crafted.jpeg()[2:],
        crafted.jpeg()[:2] + b"\x12\x34" + crafted.jpeg()[2:],
    ):
        error = refused(data)
        assert (error.status, error.code) == (400, "invalid_image"), error.message


@pytest.mark.parametrize("marker", [0x02, 0x4F, 0xBF, 0xC5, 0xC8, 0xCF, 0xD8, 0xF0, 0xFD])
def test_reserved_and_unsupported_markers_are_400(marker):
    """Finding 1: a marker code libjpeg does not accept at a segment start (reserved,
    unsupported SOF types, a second SOI) is refused instead of skipped by its length."""
    error = refused(crafted.with_segment_after_soi(crafted.jpeg(), marker))
    assert error.status == 400 and "marker" in error.message


def test_fill_bytes_before_markers_are_accepted():
    """Finding 1: fill bytes (FF FF ...) before a marker are legal; the size is read."""
    data = crafted.jpeg(40, 30)
    data = data[:2] + b"\xff\xff\xff" + data[2:]
    header = read_header(data, LIMITS)
    assert (header.width, header.height) == (40, 30)
    assert decode(data, header).shape == (30, 40, 3)


def test_second_frame_header_is_400():
    """Finding 1: two frame headers before the scan (libjpeg refuses the second)."""
    data = crafted.jpeg()
    sof = next(seg for marker, seg in crafted.jpeg_segments(data)[0] if marker == 0xC0)
    assert refused(data[:2] + sof + data[2:]).status == 400


def test_decoder_errors_are_4xx_never_an_exception():
    """Finding 1: an image OpenCV refuses to decode (over its own pixel cap) is a 413
    `RequestError`, not a cv2.error that would answer 500 with a traceback."""
    data = crafted.hidden_sof_jpeg(40000, 40000)
    with pytest.raises(RequestError) as err:
        decode(data, ImageHeader("jpeg", 64, 64))
    assert err.value.status == 413


def test_png_ihdr_must_be_first_and_13_bytes():
    """Finding 1 (PNG): an IHDR of the wrong length, or not first, is refused from the
    header (libpng refuses both)."""
    assert read_header(crafted.png(), LIMITS).width == 8
    assert refused(crafted.png(ihdr_extra=b"\0\0")).status == 400
    data = crafted.png()
    moved = data[:8] + crafted.png_chunk(b"tEXt", b"a\0b") + data[8:]
    assert refused(moved).status == 400


def test_webp_headers_checked_as_libwebp_does():
    """Finding 1 (WebP): VP8X of the wrong size, a VP8 inter frame, an unknown VP8L
    version are refused; a VP8X canvas over the limit is 413."""
    assert read_header(crafted.webp_vp8x(16), LIMITS).width == 16
    assert refused(crafted.webp_vp8x(16, chunk_size=12)).status == 400
    assert refused(crafted.webp_vp8x(16000)).status == 413
    inter = bytearray(crafted.webp())
    assert inter[12:16] == b"VP8 "
    inter[20] |= 1
    assert refused(bytes(inter)).status == 400
    lossless = bytearray(crafted.webp(lossless=True))
    assert lossless[12:16] == b"VP8L"
    bits = struct.unpack_from("<I", lossless, 21)[0]
    struct.pack_into("<I", lossless, 21, bits | (1 << 29))
    assert refused(bytes(lossless)).status == 400


def test_host_name_has_no_spaces_around_it():
    """Found by `make fuzz` on the dashboard's copy of this parser: 'name :' kept the
    space before the colon."""
    from edgekit_common.hosts import host_name

    assert host_name("0 :") == "0" and host_name("[::1]:80") == "[::1]"
