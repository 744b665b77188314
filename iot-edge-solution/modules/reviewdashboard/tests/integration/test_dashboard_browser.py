"""The dashboard in real headless Chromium (Debian's, driven by Playwright) on Azurite."""

from __future__ import annotations

from pathlib import Path

import azurite_harness
import dashboard_server
import pytest

ARTIFACTS = Path(__file__).resolve().parents[5] / "test-artifacts"
CREDENTIALS = ("SharedAccessSignature", "sig=", "AccountKey", "DefaultEndpointsProtocol")


@pytest.fixture(scope="module")
def browser():
    with dashboard_server.chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with azurite_harness.running(tmp_path_factory.mktemp("azurite")) as server:
        dashboard_server.seed(server.connection_string, frames=12)
        with dashboard_server.serving(
            server.connection_string, DASHBOARD_COUNTER_INTERVAL="1"
        ) as url:
            yield server, url


def test_pages_thumbnails_detail_and_no_credentials(browser, stack):
    server, base = stack
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: list[str] = []

    def record(response):
        try:
            body = response.body().decode("latin-1")
        except Exception:  # redirects and aborted requests have no body
            body = ""
        seen.append(f"{response.url}\n{response.all_headers()}\n{body}")

    page.on("response", record)
    assert page.goto(f"{base}/c/annotated", wait_until="networkidle").status == 200
    thumbs = page.locator("img.thumb")
    assert thumbs.count() == 6
    widths = page.eval_on_selector_all("img.thumb", "els => els.map(e => e.naturalWidth)")
    assert all(w > 0 for w in widths), widths
    page.wait_for_function(
        "document.querySelector('[data-counter=annotated]')"
        ".textContent.includes('in the last hour')",
        timeout=15000,
    )
    assert "6 in the last hour" in page.inner_text("[data-counter=annotated]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-dashboard-annotated.png"), full_page=True)

    page.click("a[href^='/c/annotated/f/']")
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector("#frame", "e => e.naturalWidth") == 320
    assert page.locator("svg polygon.box").count() == 2
    box = page.locator("svg polygon.box").first.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 20  # drawn over the image
    assert "0.950" in page.inner_text("#scores")
    # the text read in each box: by the box (label, tooltip), listed under the image
    titles = page.eval_on_selector_all(
        "svg polygon.box title", "els => els.map(e => e.textContent)"
    )
    assert titles[0].startswith("1: TEXT ") and titles[0].endswith("(0.950)")
    shown = page.eval_on_selector_all("svg text.label", "els => els.map(e => e.textContent)")
    items = page.eval_on_selector_all("#texts li", "els => els.map(e => e.textContent)")
    assert items[0].startswith("TEXT ") and shown[0] == items[0]
    assert (
        items[1]
        == shown[1]
        == titles[1].removeprefix("2: ").rsplit(" (", 1)[0]
        == dashboard_server.SECOND_TEXT
    )  # escaped markup, decoded from the metadata
    label = page.locator("svg text.label").first.bounding_box()
    assert label and label["width"] > 20  # rendered, not an empty element
    page.screenshot(path=str(ARTIFACTS / "review-dashboard-detail.png"), full_page=True)

    page.goto(f"{base}/c/lowconf?source=north", wait_until="networkidle")
    assert page.locator("img.thumb").count() == 3
    assert "cam-south" not in page.content()
    page.click("a[href^='/c/lowconf/f/']")
    page.wait_for_load_state("networkidle")
    assert (
        page.eval_on_selector_all("#texts li", "els => els.map(e => e.textContent)")[1]
        == "not read"
    )
    assert page.locator("svg text.label").count() == 1  # no label for the unread box
    page.close()

    everything = "\n".join(seen)
    assert len(seen) >= 10
    for secret in (server.key, server.connection_string, server.account + ":") + CREDENTIALS:
        assert secret not in everything
