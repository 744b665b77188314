"""Fuzz targets (Hypothesis) for the dashboard's own parsers: its settings, the `next`
target after sign-in, the Host header and thumbnails of arbitrary bytes."""

from __future__ import annotations

import io

import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from edgekit_common.hosts import host_name
from reviewdashboard.auth import _safe_next
from reviewdashboard.config import PARSERS, ConfigError, load
from reviewdashboard.thumbs import limit_pixels, thumbnail

CS = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://h/a;"
ENVS = sorted(env for env, _ in PARSERS.values()) + ["DASHBOARD_TOKEN"]


@fuzz(400)
@given(st.sampled_from(ENVS), st.text(max_size=40))
def test_fuzz_settings(env, text):
    """Any DASHBOARD_* value is a setting or a ConfigError naming the variable."""
    try:
        load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS, env: text})
    except ConfigError as exc:
        assert env in str(exc)


@fuzz(1000)
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(max_size=20).map(lambda t: "/" + t),
        st.sampled_from(["/\t/", "/\\", "//", "/%09/", "/\u3000/"]).flatmap(
            lambda p: st.text(max_size=20).map(lambda t: p + t)
        ),
    )
)
@pytest.mark.slow
def test_fuzz_next_stays_on_this_site(target):
    """Finding 5, fuzzed: whatever `next` holds, the redirect is a local path that no
    browser reads as another site: one leading slash, no backslash, no control
    characters (which browsers strip from a Location)."""
    result = _safe_next(target)
    assert result.startswith("/") and not result.startswith("//")
    assert "\\" not in result
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in result)


@fuzz(500)
@given(st.text(max_size=40))
def test_fuzz_host_header_names(header):
    """Finding 6, fuzzed: the name taken from any Host header carries no port and never
    turns another name into a loopback one."""
    name = host_name(header)
    assert name == name.strip().lower() or not name
    if not header.strip().lower().startswith(("localhost", "127.", "[::1]", "::1")):
        assert name not in ("localhost", "127.0.0.1", "[::1]")


@pytest.fixture(scope="module")
def pixel_limit():
    limit_pixels(4000 * 4000)


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


SEED = _png(16, 12)


@fuzz(300)
@given(st.data())
def test_fuzz_thumbnails_of_any_bytes(pixel_limit, draw):
    """Finding 3, fuzzed: a thumbnail of arbitrary or damaged image bytes is a small JPEG
    or a ValueError (answered 415); never another exception."""
    data = bytearray(draw.draw(st.sampled_from([SEED, b"", b"\xff\xd8\xff" + bytes(64)])))
    for _ in range(draw.draw(st.integers(0, 4))):
        if data:
            data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.integers(0, 255))
    try:
        out = thumbnail(bytes(data), 64)
    except ValueError:
        return
    with Image.open(io.BytesIO(out)) as image:
        assert max(image.size) <= 64


def test_host_name_has_no_spaces_around_it():
    """Found by `make fuzz` (test_fuzz_host_header_names): 'name :' gave 'name ' with its
    space, a name that matched nothing it should."""
    assert host_name("0 :") == "0"
    assert host_name(" Review.LAN :8090 ") == "review.lan"
