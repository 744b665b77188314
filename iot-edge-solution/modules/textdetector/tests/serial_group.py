"""The `serial` tests as one pytest-xdist work unit, beside the other processes' files.

The TLS broker must listen on the IoT Hub SDK's fixed port 8883, so its tests can only run
in one process at a time; the MQTT v5 broker's (a 10 s outage, a 50 MB payload over TLS)
go with them, so that no two broker tests' timings meet. Their files are named
`*_broker.py`; `make test` (`--dist loadfile`) sends every other test file to a process as
a unit of its own, and all the `*_broker.py` files together as one unit, so the broker
tests run one after another in one process while the other processes run the rest: their
waits (an outage, a restart) overlap the others' work instead of running after them.
(pytest-xdist's own `--dist loadgroup` groups by renaming test ids, which has no effect
with pytest 9.)
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling

SUFFIX = "_broker.py"


def in_group(path: str) -> bool:
    """Whether a test file's tests belong to the serial unit."""
    return path.endswith(SUFFIX)


class FileOrGroupScheduling(LoadFileScheduling):
    """`--dist loadfile`, except that the `*_broker.py` files form one unit."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return "serial" + SUFFIX if in_group(path) else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadFileScheduling | None:
    """`--dist loadfile` with the `*_broker.py` files as one unit (the conftest's hook)."""
    if config.getvalue("dist") == "loadfile":
        return FileOrGroupScheduling(config, log)
    return None
