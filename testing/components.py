"""How every test treats a real component it needs (a broker, an emulator, a browser).

Where the component is missing the test is skipped with the reason; under CI=true it
fails instead, so CI can never pass by skipping silently.
"""

from __future__ import annotations

import os

import pytest


def need(present: bool, reason: str) -> None:
    """Skip when `present` is false; under CI=true, fail."""
    if present:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: `scripts/setup.sh --test` must provide it)")
    pytest.skip(reason)
