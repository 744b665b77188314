"""The body parser (header sniffing, limits, decoding) on real and fuzzed bytes."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

from textdetector.serve.decode import Limits, check_content_type, decode, read_header
from textdetector.serve.errors import RequestError

LIMITS = Limits(max_body_bytes=2_000_000, max_pixels=1_000_000)
rng = np.random.default_rng(7)
IMAGE = rng.integers(0, 255, (37, 53, 3), np.uint8)


def encoded(ext: str, image: np.ndarray = IMAGE) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


SAMPLES = {ext: encoded(ext) for ext in (".jpg", ".png", ".bmp")}
SAMPLES[".webp"] = cv2.imencode(".webp", IMAGE, [cv2.IMWRITE_WEBP_QUALITY, 80])[1].tobytes()
SAMPLES["progressive.jpg"] = (
    encoded(".jpg", IMAGE)
    if not hasattr(cv2, "IMWRITE_JPEG_PROGRESSIVE")
    else cv2.imencode(".jpg", IMAGE, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
)
SAMPLES["lossless.webp"] = cv2.imencode(".webp", IMAGE, [cv2.IMWRITE_WEBP_QUALITY, 101])[
    1
].tobytes()


@pytest.mark.parametrize("name", list(SAMPLES))
def test_header_dimensions_match_decoded_image(name):
    header = read_header(SAMPLES[name], LIMITS)
    assert (header.width, header.height) == (53, 37)
    image = decode(SAMPLES[name], header)
    assert image.shape == (37, 53, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_truncation_is_refused(name):
    data = SAMPLES[name]
    for cut in sorted({1, 2, 10, 30, len(data) // 3, len(data) // 2, len(data) - 3}):
        with pytest.raises(RequestError) as err:
            header = read_header(data[:cut], LIMITS)
            decode(data[:cut], header)
        assert err.value.status == 400, (name, cut)


def test_bombs_are_refused_from_the_header_for_each_format():
    bmp = bytearray(SAMPLES[".bmp"])
    struct.pack_into("<ii", bmp, 18, 50_000, 50_000)
    jpg = bytearray(SAMPLES[".jpg"])
    sof = jpg.find(b"\xff\xc0")
    struct.pack_into(">HH", jpg, sof + 5, 60_000, 60_000)
    webp = bytearray(SAMPLES[".webp"])
    assert webp[12:16] == b"VP8 "
    struct.pack_into("<HH", webp, 26, 16000, 16000)
    lossless = bytearray(SAMPLES["lossless.webp"])
    assert lossless[12:16] == b"VP8L"
    bits = struct.unpack_from("<I", lossless, 21)[0] & ~((1 << 28) - 1)
    struct.pack_into("<I", lossless, 21, bits | 15999 | (15999 << 14))
    for data in (bytes(bmp), bytes(jpg), bytes(webp), bytes(lossless)):
        with pytest.raises(RequestError) as err:
            read_header(data, LIMITS)
        assert err.value.status == 413, data[:4]


def test_content_types():
    for ok in ("image/jpeg", "IMAGE/PNG", "application/octet-stream", ""):
        check_content_type(ok)
    for bad in ("text/plain", "application/json", "video/mp4", "image/svg+xml"):
        with pytest.raises(RequestError) as err:
            check_content_type(bad)
        assert err.value.status == 415


def _parse(data: bytes) -> None:
    """Either a decoded image matching its header, or a 400/413 `RequestError`."""
    try:
        header = read_header(data, LIMITS)
        image = decode(data, header)
    except RequestError as exc:
        assert exc.status in (400, 413), exc.message
        assert exc.message
        return
    assert image.shape == (header.height, header.width, 3)


@fuzz(300)
@given(st.binary(max_size=4096))
def test_fuzz_random_bytes(data):
    _parse(data)


@fuzz(300)
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_fuzz_mutated_images(name, draw):
    data = bytearray(SAMPLES[name])
    for _ in range(draw.draw(st.integers(1, 8))):
        position = draw.draw(st.integers(0, len(data) - 1))
        data[position] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(data)))
    _parse(bytes(data[:cut]))


@fuzz(200)
@given(
    st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"RIFF\0\0\0\0WEBP"]),
    st.binary(max_size=256),
)
def test_fuzz_valid_magic_then_garbage(magic, tail):
    _parse(magic + tail)
