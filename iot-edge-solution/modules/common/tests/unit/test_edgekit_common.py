"""The parsers and the Host-header rule both modules share (edgekit_common)."""

from __future__ import annotations

import pytest

from edgekit_common.hosts import host_allowed, host_name, is_loopback, own_names
from edgekit_common.options import (
    container_name,
    container_names,
    float_range,
    host_names,
    http_urls,
    int_range,
    is_placeholder,
    one_of,
    parse_bool,
    secret,
)


def test_ranges_say_what_they_expected():
    assert int_range(1, 5)(" 5 ") == 5
    with pytest.raises(ValueError, match="expected an integer from 1 to 5"):
        int_range(1, 5)("6")
    with pytest.raises(ValueError, match="expected an integer from 1 to 5"):
        int_range(1, 5)("two")
    assert float_range(0.0, 1.0)("0") == 0.0
    with pytest.raises(ValueError, match=r"expected a number in \(0.0, 1.0\]"):
        float_range(0.0, 1.0, low_open=True)("0")
    with pytest.raises(ValueError, match=r"in \[0.0, 1.0\]"):
        float_range(0.0, 1.0)("nan")


def test_words_and_switches():
    assert parse_bool("Yes") and not parse_bool("") and not parse_bool("off")
    with pytest.raises(ValueError, match="true/false"):
        parse_bool("maybe")
    assert one_of("debug", "info")("INFO") == "info"
    with pytest.raises(ValueError, match="one of debug, info"):
        one_of("debug", "info")("loud")


@pytest.mark.parametrize("name", ["abc", "a-1-b", "a" * 63])
def test_container_names_azure_accepts(name):
    assert container_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a--b", "-ab", "ab-", "Abc", "a_b", "a" * 64])
def test_container_names_azure_refuses(name):
    with pytest.raises(ValueError):
        container_name(name)
    with pytest.raises(ValueError):
        container_names(f"good-one,{name}")


def test_container_and_host_lists_drop_duplicates():
    assert container_names("a-1, b-2,a-1") == ("a-1", "b-2")
    assert host_names(" Review.LAN,[::1],review.lan ") == ("review.lan", "[::1]")
    assert host_names("") == ()
    with pytest.raises(ValueError, match="without ports"):
        host_names("review.lan:8090")


def test_http_urls_accept_plain_urls_and_never_echo_one():
    assert http_urls(" http://127.0.0.1:8081/preview,https://cam.lan/preview?token=t,") == (
        "http://127.0.0.1:8081/preview",
        "https://cam.lan/preview?token=t",
    )
    assert http_urls("") == ()
    for bad in (
        "ftp://cam:21/preview",
        "http:///preview",
        "http://user:secret-pass@cam/",
        "http://cam:99999/",
        "http://cam/a b",
        'http://cam/"onload=x',
        "javascript:alert(1)",
    ):
        with pytest.raises(ValueError, match="URL 1 is not") as caught:
            http_urls(bad)
        assert "secret" not in str(caught.value) and "cam" not in str(caught.value)
    with pytest.raises(ValueError, match="at most 16"):
        http_urls(",".join(f"http://cam{i}/" for i in range(17)))


def test_secrets_refuse_placeholders_and_short_keys():
    assert secret("") == "" and secret(" " + "k" * 16) == "k" * 16
    assert is_placeholder("${SERVE_API_KEY}") and is_placeholder("$TOKEN")
    assert not is_placeholder("a${B}")
    with pytest.raises(ValueError, match="unexpanded template variable"):
        secret("${SERVE_API_KEY}")
    with pytest.raises(ValueError, match="at least 16 characters"):
        secret("short")


def test_host_rule():
    assert host_name(" Review.LAN :8090 ") == "review.lan" and host_name("[::1]:80") == "[::1]"
    assert all(map(is_loopback, ["localhost", "a.localhost", "127.0.0.2", "[::1]"]))
    assert not is_loopback("localhost.evil.example")
    names = own_names("0.0.0.0", ("review.lan",))
    assert names == {"review.lan"}
    assert host_allowed("review.lan:8090", names) and host_allowed("", names)
    assert host_allowed("127.0.0.1:8090", names)
    assert not host_allowed("evil.example", names)
    assert own_names("Box.LAN", ()) == {"box.lan"}
