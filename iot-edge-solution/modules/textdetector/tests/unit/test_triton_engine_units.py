"""Triton engine pieces that need no server: TRITON_URL parsing, settings, absent client."""

from __future__ import annotations

import sys

import pytest

from textdetector.config import TritonSettings, load
from textdetector.engines.triton_engine import Endpoint, TritonEngine, parse_endpoint
from textdetector.errors import ConfigError, EngineUnavailableError


@pytest.mark.parametrize(
    "url, protocol, expected",
    [
        ("grpc://triton:8001", "auto", ("grpc", "triton:8001", False)),
        ("grpcs://triton", "auto", ("grpc", "triton:8001", True)),
        ("http://10.0.0.5:8000", "auto", ("http", "10.0.0.5:8000", False)),
        ("https://triton.example", "auto", ("http", "triton.example:8000", True)),
        ("triton:9001", "auto", ("grpc", "triton:9001", False)),
        ("triton", "http", ("http", "triton:8000", False)),
        ("http://triton:8000/", "http", ("http", "triton:8000", False)),
    ],
)
def test_endpoint_from_url(url, protocol, expected):
    endpoint = parse_endpoint(url, protocol)
    assert isinstance(endpoint, Endpoint) and endpoint.url == url
    assert (endpoint.protocol, endpoint.address, endpoint.ssl) == expected


@pytest.mark.parametrize(
    "url, protocol, text",
    [
        ("ftp://triton:21", "auto", "expected grpc://"),
        ("grpc://triton:8001", "http", "contradicts"),
        ("http://triton:8000/v2/models", "auto", "scheme://host:port"),
        ("grpc://triton:port", "auto", "bad port"),
        ("grpc://:8001", "auto", "scheme://host:port"),
    ],
)
def test_bad_url_is_one_config_error(url, protocol, text):
    with pytest.raises(ConfigError, match=text) as caught:
        parse_endpoint(url, protocol)
    assert "\n" not in str(caught.value)


def test_settings_from_the_environment():
    settings = load(
        TritonSettings,
        {"TRITON_URL": "http://t:8000", "TRITON_TIMEOUT": "2.5", "TRITON_PROTOCOL": "HTTP"},
    )
    assert settings == TritonSettings("http://t:8000", 2.5, "http")
    with pytest.raises(ConfigError, match="TRITON_TIMEOUT"):
        load(TritonSettings, {"TRITON_TIMEOUT": "0"})


def test_missing_tritonclient_is_a_clear_error(monkeypatch):
    """tritonclient is installed here: hiding it from imports stands for its absence."""
    for name in [m for m in sys.modules if m.startswith("tritonclient")] + ["tritonclient"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(EngineUnavailableError, match="needs tritonclient: pip install"):
        TritonEngine.open(None, TritonSettings(), model_name="text_det")
