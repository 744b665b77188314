"""Who may watch the preview: the review dashboard's sign-in rules on the health port.

Off on a non-loopback HEALTH_HOST unless PREVIEW_TOKEN is set. With a token every
preview request carries it (`Authorization: Bearer <token>`, or `?token=` so an <img>
can), compared in constant time. Without one (loopback only) the Host header must name
loopback or the listen address (edgekit_common's rule against DNS rebinding).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from edgekit_common.hosts import host_allowed, is_loopback, own_names

from ..config import PreviewSettings


@dataclass(frozen=True)
class Refusal:
    """An HTTP status and the one line that explains it."""

    status: int
    message: str


@dataclass(frozen=True)
class PreviewAccess:
    """The preview's switch, token and Host names, from the settings and listen address."""

    off_reason: str = ""  # empty: the preview is served
    token: str = field(default="", repr=False)
    names: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: PreviewSettings, listen_host: str) -> PreviewAccess:
        if not settings.preview:
            return cls("the preview is off (PREVIEW=false)")
        if not settings.preview_token and not is_loopback(listen_host):
            return cls(
                f"the preview is off: HEALTH_HOST={listen_host} is not loopback and "
                "PREVIEW_TOKEN is not set"
            )
        return cls("", settings.preview_token, own_names(listen_host, ()))

    @property
    def enabled(self) -> bool:
        return not self.off_reason

    def refusal(self, host_header: str, authorization: str, query_token: str) -> Refusal | None:
        """Why this request may not see the preview, or None when it may."""
        if self.off_reason:
            return Refusal(404, self.off_reason)
        if not self.token:
            if host_allowed(host_header, self.names):
                return None
            return Refusal(403, "Host names none of this endpoint's names (HEALTH_HOST)")
        if matches(presented(authorization, query_token), self.token):
            return None
        return Refusal(401, "missing or wrong preview token: send Authorization: Bearer or ?token=")


def presented(authorization: str, query_token: str) -> str:
    """The token a request carries: a Bearer Authorization first, else `?token=`."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query_token.strip()


def matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
