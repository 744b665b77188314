"""Module images and the CPU dev container, built with podman and run as real containers.

The session builds once: `scripts/build-images.sh` (what `make images` runs) on a copy of
the repository as a fresh clone has it, with the local Debian base, a fake storage
connection string in the build's environment and `.env`, `.venv` and cache files planted in
every build context. Then every check runs a real container: the smoke run, the demo video
with JSON Lines out to a mounted folder, `serve` answering a POST from outside, the review
dashboard against a real Azurite, `make run` inside the dev container, and a byte search of
every layer for the planted secret. Where podman cannot run containers the tests skip with
the reason; under CI=true they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from azurite_harness import running
from image_support import (
    REPORT,
    Podman,
    archive_members_containing,
    copy_checkout,
    podman_runs_containers,
    wait_until,
)
from inner_loop_support import MODULE_DIR, genconfig, need, run, strict_json
from ports import free_port
from serve_helpers import page_png, request

pytestmark = [pytest.mark.images, pytest.mark.slow]

ARCH = "amd64"
DEMO_FRAMES = 180  # tools/make_demo_video.py: 12 s at 15 fps
# Size budgets (uncompressed, as `podman image inspect` reports them) for the local
# Debian base; the python:3.12-slim production base is of the same size. See README.
# textdetector: 900 MB, Pillow and the CJK label font of drawn frames included (the OpenVINO
# parts it never loads are left out); devcontainer: 900 MB + Pillow (22 MB) and the font
# (5 MB).
BUDGET_MB = {"textdetector": 900, "reviewdashboard": 320, "devcontainer": 930}
SECRET_VARIABLES = (
    "ARCHIVE_CONNECTION_STRING",
    "DASHBOARD_STORAGE_CONNECTION_STRING",
    "IOTHUB_CONNECTION_STRING",
    "EdgeHubConnectionString",
)
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class Build:
    """What the session built: checkout copy, podman, image tags, secret, seconds."""

    checkout: Path
    podman: Podman
    secret: str
    seconds: float
    tags: dict[str, str] = field(default_factory=dict)


def module_tag(name: str) -> str:
    version = strict_json(MODULE_DIR.parent / name / "module.json")["image"]["tag"]["version"]
    return f"localhost:5000/{name}:{version}-{ARCH}"


def plant_secrets(checkout: Path, secret: str) -> None:
    """Files that must never reach an image, in every build context and module folder."""
    modules = checkout / "iot-edge-solution" / "modules"  # the module images' build context
    contexts = [checkout, modules, *(path for path in modules.iterdir() if path.is_dir())]
    for context in contexts:
        (context / ".env").write_text(
            f"CONTAINER_REGISTRY_ADDRESS=localhost:5000\nARCHIVE_CONNECTION_STRING={secret}\n"
        )
        for name in (
            ".venv/pyvenv.cfg",
            "__pycache__/leak.cpython-311.pyc",
            ".pytest_cache/v/cache/lastfailed",
            "results/frames.jsonl",
        ):
            path = context / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secret)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Build:
    """Build every image once per session (base image included when missing)."""
    usable, reason = podman_runs_containers()
    need(usable, reason)
    need(
        shutil.which("mmdebstrap") is not None,
        "mmdebstrap missing: run scripts/test-deps.d/60-images.sh",
    )
    checkout = copy_checkout(tmp_path_factory.mktemp("checkout"))
    secret = "AccountKey=" + secrets.token_hex(24)
    plant_secrets(checkout, secret)
    fake = f"DefaultEndpointsProtocol=https;AccountName=leakcheck;{secret};"
    env = {**os.environ, **{name: fake for name in SECRET_VARIABLES}}
    env.pop("CONTAINERS_CONF", None)
    start = time.monotonic()
    done = run(
        # the trainer image (PyTorch, GBs) has its own test: test_trainer_image.py
        ["bash", "scripts/build-images.sh", "--arch", ARCH, *sorted(BUDGET_MB)],
        cwd=checkout,
        env=env,
        timeout=1800,
    )
    seconds = time.monotonic() - start
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    REPORT.append(f"build-images.sh --arch {ARCH} (base included when missing): {seconds:.0f} s")
    tags = {name: module_tag(name) for name in ("textdetector", "reviewdashboard")}
    tags["devcontainer"] = f"localhost/edge-vision-devcontainer:{ARCH}"
    return Build(checkout, Podman(checkout), secret, seconds, tags)


@pytest.mark.parametrize("name", sorted(BUDGET_MB))
def test_image_fits_its_size_budget(built, name):
    size_mb = int(built.podman.inspect(built.tags[name], "{{.Size}}")) / 1e6
    REPORT.append(f"{built.tags[name]}: {size_mb:.0f} MB (budget {BUDGET_MB[name]} MB)")
    assert size_mb <= BUDGET_MB[name], f"{name}: {size_mb:.0f} MB > {BUDGET_MB[name]} MB"


@pytest.mark.parametrize("name", ["textdetector", "reviewdashboard"])
def test_module_image_runs_as_non_root_with_a_healthcheck(built, name):
    done = built.podman("image", "inspect", built.tags[name], timeout=60)
    assert done.returncode == 0, done.stderr
    image = json.loads(done.stdout)[0]
    config = image["Config"]
    assert config["User"] not in ("", "0", "root")
    assert config["Entrypoint"] == ["python", "main.py"]
    assert image["Healthcheck"]["Test"][0] == "CMD" and image["Healthcheck"]["Test"][1:]
    assert not any(var.split("=", 1)[0] in SECRET_VARIABLES for var in config.get("Env") or [])


def test_deployment_manifest_names_the_built_images(built, tmp_path):
    """`iotedgedev genconfig` writes exactly the tags the build made (ready to push)."""
    done, path = genconfig(tmp_path, "deployment.template.json", ARCH)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    modules = json.loads(path.read_text())["modulesContent"]["$edgeAgent"]["properties.desired"][
        "modules"
    ]
    for name in ("textdetector", "textscorer", "reviewdashboard"):
        image = modules[name]["settings"]["image"]
        assert image in built.tags.values(), image
        assert built.podman("image", "exists", image, timeout=60).returncode == 0


def test_documented_smoke_test_runs_offline_without_mounts(built):
    """`podman run --rm IMAGE --max-frames 5 --quiet`: models and video are inside; the
    annotated video is drawn with the image's CJK label font (no fallback warning)."""
    done = built.podman(
        "run",
        "--rm",
        "--network",
        "none",
        built.tags["textdetector"],
        "--max-frames",
        "5",
        "--quiet",
        "--save-video",
        "/tmp/annotated.mp4",
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wrote 5 annotated frames" in done.stderr and "CJK" not in done.stderr


def test_demo_video_every_frame_to_a_mounted_folder(built, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the module runs as uid 1000
    start = time.monotonic()
    done = built.podman(
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        f"{out}:/out:rw",
        built.tags["textdetector"],
        "--json-output",
        "/out/frames.jsonl",
        "--quiet",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    REPORT.append(
        f"demo video in the container ({DEMO_FRAMES} frames, container start "
        f"included): {time.monotonic() - start:.0f} s"
    )
    frames = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert [f["frame"] for f in frames] == list(range(DEMO_FRAMES))
    assert {(f["width"], f["height"]) for f in frames} == {(1280, 720)}
    assert sum(f["count"] > 0 for f in frames) > DEMO_FRAMES // 2


def test_serve_answers_a_picture_posted_from_outside(built):
    port = free_port()
    with built.podman.container(
        "-p",
        f"127.0.0.1:{port}:8080",
        "--name",
        f"textscorer-{port}",
        built.tags["textdetector"],
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
    ) as name:
        ready = wait_until(
            lambda: request(port, "GET", "/v2/health/ready", timeout=5).status == 200, timeout=90
        )
        assert ready, built.podman("logs", name).stderr[-2000:]
        reply = request(port, "POST", "/score", page_png(), {"Content-Type": "image/png"})
        assert reply.status == 200, reply.body[:500]
        assert len(reply.json()["inferences"]) >= 3
        health = built.podman("healthcheck", "run", name, timeout=60)
        assert health.returncode == 0, health.stdout + health.stderr


def signed_in_page(port: int, token: str) -> bytes:
    """Sign in through the dashboard's form, then fetch its front page with the session."""
    import http.client
    import urllib.parse

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/signin",
            urllib.parse.urlencode({"token": token, "next": "/"}),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = conn.getresponse()
        reply.read()
        assert reply.status == 303, reply.status
        cookie = reply.headers["Set-Cookie"].split(";")[0]
        conn.request("GET", "/", headers={"Cookie": cookie})
        page = conn.getresponse()
        assert page.status == 200, page.status
        return page.read()
    finally:
        conn.close()


def test_dashboard_container_serves_its_page(built, tmp_path):
    """Against a real Azurite on the host (the container shares the host network)."""
    port = free_port()
    with running(tmp_path) as azurite:
        with built.podman.container(
            "--network",
            "host",
            "-e",
            f"DASHBOARD_PORT={port}",
            "-e",
            "DASHBOARD_HOST=127.0.0.1",
            "-e",
            "DASHBOARD_TOKEN=image-test-token-0123456789",
            "-e",
            f"DASHBOARD_STORAGE_CONNECTION_STRING={azurite.connection_string}",
            built.tags["reviewdashboard"],
        ) as name:
            up = wait_until(
                lambda: request(port, "GET", "/healthz", timeout=5).status == 200, timeout=60
            )
            assert up, built.podman("logs", name).stderr[-2000:]
            assert request(port, "GET", "/api/counters", timeout=30).status == 401
            page = signed_in_page(port, "image-test-token-0123456789")
            assert b"Archived frames" in page and b"annotated" in page
            health = built.podman("healthcheck", "run", name, timeout=60)
            assert health.returncode == 0, health.stdout + health.stderr


@pytest.mark.parametrize("name", sorted(BUDGET_MB))
def test_no_secret_in_any_layer(built, tmp_path, name):
    """The planted connection string is in no layer, config or history of the image."""
    archive = tmp_path / "image.tar"
    saved = built.podman(
        "save", "--format", "docker-archive", "-o", str(archive), built.tags[name], timeout=600
    )
    assert saved.returncode == 0, saved.stderr
    needles = (b"AccountName=leakcheck", built.secret.encode())
    assert archive_members_containing(archive, *needles) == []
    history = built.podman("history", "--no-trunc", built.tags[name], timeout=60)
    assert history.returncode == 0 and built.secret not in history.stdout


def test_secret_search_finds_a_planted_secret(tmp_path):
    """The layer search itself can fail: a secret in a nested layer is found."""
    import tarfile

    secret = b"AccountKey=" + secrets.token_hex(8).encode()
    (tmp_path / "leak.txt").write_bytes(b"x" * 3_000_000 + secret)
    with tarfile.open(tmp_path / "layer.tar", "w") as layer:
        layer.add(tmp_path / "leak.txt", arcname="app/leak.txt")
    with tarfile.open(tmp_path / "image.tar", "w") as image:
        image.add(tmp_path / "layer.tar", arcname="abc/layer.tar")
    found = ["abc/layer.tar:app/leak.txt"]
    assert archive_members_containing(tmp_path / "image.tar", secret) == found
    assert archive_members_containing(tmp_path / "image.tar", b"not in it", secret) == found
    assert archive_members_containing(tmp_path / "image.tar", b"not in it", b"nor this") == []


def test_make_run_inside_the_dev_container(built, tmp_path):
    """The README's first command in the CPU dev container, on a fresh-clone workspace."""
    workspace = copy_checkout(tmp_path / "workspace")
    local_data = workspace / "iot-edge-solution" / "modules" / "textdetector" / "local_data"
    for source in (MODULE_DIR / "local_data").iterdir():  # models: no download needed
        if source.suffix in (".onnx", ".mp4", ".jsonl"):
            shutil.copy(source.resolve(), local_data / source.name)
    owner = ["chown", "-R", "1000:1000", str(workspace)]  # the image's user, vscode
    done = built.podman("unshare", *owner) if os.geteuid() else run(owner, timeout=60)
    assert done.returncode == 0, done.stderr
    ca = (
        [
            "-v",
            f"{CA_BUNDLE}:/etc/ssl/certs/host-ca.crt:ro",
            "-e",
            "PIP_CERT=/etc/ssl/certs/host-ca.crt",
        ]
        if CA_BUNDLE.is_file()
        else []
    )
    done = built.podman(
        "run",
        "--rm",
        "--network",
        "host",
        "-v",
        f"{workspace}:/workspace",
        "-e",
        "VENV_OPTIONS=--system-site-packages",
        *ca,
        built.tags["devcontainer"],
        "make",
        "run",
        "ARGS=--max-frames 5 --quiet",
        timeout=900,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert (workspace / ".venv" / "bin" / "python").exists()
