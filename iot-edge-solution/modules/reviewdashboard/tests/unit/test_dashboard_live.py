"""The Live page's setting, policy and markup (no storage, no module needed)."""

from __future__ import annotations

import pytest

from reviewdashboard import live
from reviewdashboard.config import ConfigError, load

CS = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://h/a;"
SECRET_URL = "https://cam.lan:8081/preview?token=preview-token-0123456789"


def test_preview_urls_are_parsed_and_kept_out_of_the_repr():
    s = load(
        {
            "DASHBOARD_STORAGE_CONNECTION_STRING": CS,
            "DASHBOARD_PREVIEW_URLS": f"http://127.0.0.1:8081/preview, {SECRET_URL}",
        }
    )
    assert s.preview_urls == ("http://127.0.0.1:8081/preview", SECRET_URL)
    assert "preview-token" not in repr(s)
    assert load({"DASHBOARD_STORAGE_CONNECTION_STRING": CS}).preview_urls == ()


def test_a_bad_preview_url_is_one_line_without_the_value():
    env = {"DASHBOARD_STORAGE_CONNECTION_STRING": CS}
    with pytest.raises(ConfigError, match="DASHBOARD_PREVIEW_URLS: URL 2 is not") as caught:
        load({**env, "DASHBOARD_PREVIEW_URLS": "http://a/preview,ftp://b/?token=secret-value"})
    assert "secret-value" not in str(caught.value) and "\n" not in str(caught.value)


def test_frames_only_from_the_preview_origins_and_no_token_shown():
    urls = ("http://127.0.0.1:8081/preview", SECRET_URL, "http://127.0.0.1:8081/preview?x=1")
    policy = live.csp(urls)
    assert policy.endswith("frame-src http://127.0.0.1:8081 https://cam.lan:8081")
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert live.csp(()).endswith("frame-src 'none'")
    html = live.page(urls)
    assert html.count("<iframe") == 3
    assert "<h2>cam.lan:8081/preview</h2>" in html  # the label: never the query
    assert html.count("preview-token") == 1  # only in the frame's src, for the browser
    assert "DASHBOARD_PREVIEW_URLS" in live.page(())
