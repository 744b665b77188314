"""The Live page: each module's live preview page (its /preview, served on the module's
health port) embedded in a frame, behind the dashboard's sign-in.

The URLs come from DASHBOARD_PREVIEW_URLS; a module off loopback needs its PREVIEW_TOKEN
as `?token=` in its URL. Those URLs reach only signed-in browsers, and the page's
Content-Security-Policy lets frames load from exactly their origins.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

BASE_CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'"
)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def label(url: str) -> str:
    """What the page shows for a URL: its origin and path, never its query (a token)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def csp(urls: tuple[str, ...]) -> str:
    """The dashboard's policy, with frames allowed from the preview URLs' origins."""
    sources = " ".join(dict.fromkeys(origin(u) for u in urls)) or "'none'"
    return f"{BASE_CSP}; frame-src {sources}"


def page(urls: tuple[str, ...]) -> str:
    """One titled frame per module preview, or how to configure them."""
    if not urls:
        return (
            "<h1>Live</h1><p class=empty>No module previews configured: set "
            "DASHBOARD_PREVIEW_URLS to the modules' preview pages "
            "(http://host:HEALTH_PORT/preview).</p>"
        )
    frames = "".join(
        f'<section class=live><h2>{escape(label(url))}</h2><iframe src="{escape(url)}" '
        f'title="live preview of {escape(label(url))}" referrerpolicy=no-referrer '
        "loading=lazy></iframe></section>"
        for url in urls
    )
    return f"<h1>Live</h1>{frames}"
