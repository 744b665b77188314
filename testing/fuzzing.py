"""Hypothesis settings shared by the fuzz targets: a few seconds each in the normal test
run, as long as asked for by `make fuzz` (FUZZ_EXAMPLES examples per target)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG_RUN = int(os.environ.get("FUZZ_EXAMPLES", "0") or 0)


def fuzz(examples: int) -> settings:
    """`examples` in the normal run (derandomized: the same cases every time, so a
    failure reproduces); FUZZ_EXAMPLES random ones under `make fuzz`."""
    return settings(
        max_examples=LONG_RUN or examples,
        deadline=None,
        database=None,
        derandomize=not LONG_RUN,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
