"""`make test`'s scheduling: the `*_broker.py` files in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent

RECORD = """
import os, time
import pytest

@pytest.mark.parametrize("case", range({count}))
def test_{name}(case):
    time.sleep(0.2)
    with open({log!r}, "a") as log:
        log.write("{name} " + os.environ["PYTEST_XDIST_WORKER"] + " " + str(time.time()) + "\\n")
"""


@pytest.mark.slow
def test_broker_files_share_one_process(tmp_path):
    """A real pytest-xdist run on two processes of a small tree laid out like ours."""
    log = tmp_path / "order.log"
    files = {  # three tests each: xdist would hand a broker file to each process
        "tests/unit/test_a_broker.py": ("a_broker", 3),
        "tests/unit/test_b_plain.py": ("b_plain", 8),
        "tests/unit/test_c_plain.py": ("c_plain", 8),
        "tests/integration/test_d_broker.py": ("d_broker", 3),
        "tests/integration/test_e_server.py": ("e_server", 1),
    }
    for path, (name, count) in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(RECORD.format(name=name, count=count, log=str(log)))
    (tmp_path / "tests" / "conftest.py").write_text(
        "from serial_group import pytest_xdist_make_scheduler  # noqa: F401\n"
    )
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov"]
        + ["-n", "2", "--dist", "loadfile", "--rootdir", str(tmp_path), "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in log.read_text().splitlines()]
    processes: dict[str, set[str]] = {}
    for name, process, _ in rows:
        processes.setdefault(name, set()).add(process)
    assert len(rows) == 3 + 8 + 8 + 3 + 1
    assert len(processes["a_broker"] | processes["d_broker"]) == 1, processes
    assert len(set().union(*processes.values())) == 2  # the other files did use both
