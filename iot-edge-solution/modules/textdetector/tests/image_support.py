"""Helpers for the container image tests: podman, a fresh-clone copy, layer search."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from inner_loop_support import REPO, run

CHUNK = 1 << 20

REPORT: list[str] = []  # measured lines, printed in the run's summary (conftest.py)


@dataclass(frozen=True)
class Podman:
    """podman with the build script's containers.conf (runtime, ulimits) of one checkout."""

    checkout: Path

    @property
    def env(self) -> dict[str, str]:
        conf = self.checkout / ".tools" / "containers" / "containers.conf"
        return {**os.environ, "CONTAINERS_CONF": str(conf)}

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return run(["podman", *args], timeout=timeout, env=self.env)

    def inspect(self, image: str, template: str) -> str:
        done = self("image", "inspect", "--format", template, image, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    @contextlib.contextmanager
    def container(self, *args: str) -> Iterator[str]:
        """A detached container, removed afterwards whatever happens."""
        done = self("run", "-d", *args, timeout=120)
        assert done.returncode == 0, done.stderr
        name = done.stdout.strip()
        try:
            yield name
        finally:
            self("rm", "-f", "-t", "2", name, timeout=60)


def podman_runs_containers() -> tuple[bool, str]:
    """Whether podman exists and can start a container here (with the reason if not)."""
    if shutil.which("podman") is None:
        return False, "podman missing: run scripts/test-deps.d/60-images.sh"
    done = run(["podman", "info"], timeout=60)
    if done.returncode != 0:
        return False, f"podman cannot run here: {(done.stderr or done.stdout).strip()[-300:]}"
    return True, ""


def copy_checkout(dest: Path) -> Path:
    """The files a fresh clone (plus uncommitted work) has: tracked and not ignored."""
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def wait_until(check, timeout: float, interval: float = 0.5) -> bool:
    """Poll `check()` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return True
        time.sleep(interval)
    return False


def stream_contains(handle, *needles: bytes) -> bool:
    """Whether a binary stream holds any of `needles`, read once chunk by chunk (matches
    across chunk borders too)."""
    tail, keep = b"", max(map(len, needles))
    while chunk := handle.read(CHUNK):
        window = tail + chunk
        if any(needle in window for needle in needles):
            return True
        tail = window[-keep:]
    return False


def archive_members_containing(archive: Path, *needles: bytes) -> list[str]:
    """Members of an image archive (layers, config, manifest) whose bytes or names hold
    any of `needles`, the archive read once.

    Layers are searched file by file inside, so compressed layers are covered too.
    """
    found = []
    with tarfile.open(archive) as outer:
        for member in outer:
            handle = outer.extractfile(member)
            if handle is None:
                continue
            if member.name.endswith((".tar", ".tar.gz", "/layer.tar")) or _is_tar(handle):
                handle.seek(0)
                with tarfile.open(fileobj=handle) as layer:
                    found += [
                        f"{member.name}:{inner.name}"
                        for inner in layer
                        if _member_contains(layer, inner, needles)
                        or any(needle in inner.name.encode() for needle in needles)
                    ]
            elif stream_contains(handle, *needles):
                found.append(member.name)
    return found


def _is_tar(handle) -> bool:
    head = handle.read(512)
    return len(head) == 512 and head[257:262] == b"ustar"


def _member_contains(
    layer: tarfile.TarFile, inner: tarfile.TarInfo, needles: tuple[bytes, ...]
) -> bool:
    if not inner.isfile():  # links point at members searched on their own
        return False
    handle = layer.extractfile(inner)
    return handle is not None and stream_contains(handle, *needles)
