"""Dev container: hadolint, the Dev Containers CLI and the stage graph of the Dockerfile."""

from __future__ import annotations

import json
import os
import re

import pytest
from inner_loop_support import (
    ALL_DOCKERFILES,
    DEVCONTAINER_CLI,
    MODULE_DIR,
    REPO,
    need,
    run,
    strict_json,
    tool,
)

DEVCONTAINER = REPO / ".devcontainer"
CONFIGS = sorted(DEVCONTAINER.rglob("devcontainer.json"))
PAIRS = {
    ("amd64", "nocuda"): "mcr.microsoft.com/devcontainers/python:",
    ("amd64", "cuda"): "nvcr.io/nvidia/tensorrt:",
    ("arm64", "nocuda"): "mcr.microsoft.com/devcontainers/python:",
    ("arm64", "cuda"): "nvcr.io/nvidia/l4t-jetpack:r36.",
}


def pins(path) -> dict[str, str]:
    """`name==version` lines of a requirements file (lower-case names)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def stages(build_args: dict[str, str]) -> tuple[dict[str, list[tuple[str, str]]], dict, str]:
    """Per stage: its instructions, its parent (stage or image), and the final stage name."""
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(str(DEVCONTAINER / "Dockerfile"), build_args=build_args)
    body: dict[str, list[tuple[str, str]]] = {}
    parent: dict[str, str] = {}
    froms = iter(parser.parent_images)
    current = ""
    for item in parser.structure:
        if item["instruction"] == "FROM":
            current = item["value"].split()[-1]
            parent[current] = next(froms)
            body[current] = []
        elif current:
            body[current].append((item["instruction"], item["value"]))
    return body, parent, current


@pytest.mark.parametrize("dockerfile", ALL_DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile):
    hadolint = tool("hadolint")
    done = run([hadolint, "--no-color", str(dockerfile)], timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dl3006_is_ignored_only_on_the_parameterised_from():
    """The one DL3006 ignore sits right above `FROM base-${TARGETARCH}-${CUDA_SUPPORT}`."""
    lines = (DEVCONTAINER / "Dockerfile").read_text().splitlines()
    ignores = [i for i, line in enumerate(lines) if "hadolint ignore=DL3006" in line]
    assert len(ignores) == 1
    assert lines[ignores[0] + 1].startswith("FROM base-${TARGETARCH}-${CUDA_SUPPORT} AS base")
    for dockerfile in ALL_DOCKERFILES:
        lines = dockerfile.read_text().splitlines()
        for number, line in enumerate(lines):
            if "hadolint ignore=" in line:
                assert re.search(r"ignore=(DL3006|DL3008|DL3065)$", line), f"{dockerfile}: {line}"
            if "ignore=DL3065" in line:  # only where buildah needs the platform named
                assert lines[number + 1].startswith("FROM --platform=$TARGETPLATFORM ")


def test_hadolint_does_flag_the_parameterised_from_without_the_ignore(tmp_path):
    """Proves the ignore is needed (and that hadolint really runs)."""
    hadolint = tool("hadolint")
    text = (DEVCONTAINER / "Dockerfile").read_text().replace("# hadolint ignore=DL3006\n", "")
    copy = tmp_path / "Dockerfile"
    copy.write_text(text)
    done = run([hadolint, "--no-color", str(copy)], timeout=60)
    assert done.returncode != 0 and "DL3006" in done.stdout


@pytest.mark.parametrize("arch,cuda", sorted(PAIRS))
def test_each_hardware_pair_resolves_to_its_stage(arch, cuda):
    pytest.importorskip("dockerfile_parse", reason="dockerfile-parse is not installed")
    body, parent, final = stages({"TARGETARCH": arch, "CUDA_SUPPORT": cuda})
    assert final == "base"
    chain = [parent["base"]]
    while chain[-1] in parent:
        chain.append(parent[chain[-1]])
    assert chain[0] == f"base-{arch}-{cuda}"
    image = chain[-1]
    assert image.startswith(PAIRS[(arch, cuda)]), chain
    tag = image.rsplit(":", 1)[-1]
    assert tag and tag != "latest" and "$" not in tag
    steps = [value for name in chain[:-1] for _, value in body[name]]
    text = "\n".join(steps)
    assert "requirements/requirements.txt" in text and "requirements-tools.txt" in text
    assert ("requirements-cuda.txt" in text) == (cuda == "cuda")
    assert "--groups video" in text
    users = [value for name in chain[:-1] for kind, value in body[name] if kind == "USER"]
    assert users and users[-1] not in ("0", "root")


def test_images_install_exactly_the_module_requirements_and_pinned_tools():
    """Dev tools in the image carry the same pins as requirements-dev.txt."""
    dev = pins(MODULE_DIR / "requirements-dev.txt")
    tools = pins(DEVCONTAINER / "requirements-tools.txt")
    assert {"pytest", "pytest-cov", "ruff"} <= set(tools)
    for name, version in tools.items():
        if name in dev:
            assert dev[name] == version, f"{name}: {version} here, {dev[name]} in requirements-dev"
    copied = re.findall(
        r"^COPY \$\{MODULE\}/(\S+)", (DEVCONTAINER / "Dockerfile").read_text(), re.M
    )
    assert set(copied) == {"requirements.txt"}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(DEVCONTAINER)))
def test_devcontainer_cli_reads_each_configuration(config):
    """read-configuration resolves variables; it is no validator, so the test checks more."""
    need(DEVCONTAINER_CLI.exists(), "Dev Containers CLI missing (scripts/test-deps.d)")
    document = strict_json(config)
    build = document["build"]
    assert (config.parent / build["dockerfile"]).resolve() == DEVCONTAINER / "Dockerfile"
    assert (config.parent / build["context"]).resolve() == REPO
    assert build["args"]["CUDA_SUPPORT"] in ("cuda", "nocuda")
    for camera, expected in (("/dev/video3", "--device=/dev/video3"), (None, "--device=/dev/null")):
        env = {k: v for k, v in os.environ.items() if k != "CAMERA_DEVICE"}
        if camera:
            env["CAMERA_DEVICE"] = camera
        done = run(
            [
                str(DEVCONTAINER_CLI),
                "read-configuration",
                "--workspace-folder",
                str(REPO),
                "--config",
                str(config),
                "--docker-path",
                "/bin/true",
            ],
            env=env,
            timeout=90,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        resolved = json.loads(done.stdout)["configuration"]
        assert expected in resolved["runArgs"]
        assert resolved["build"] == build
        vscode = resolved["customizations"]["vscode"]
        assert "ms-python.python" in vscode["extensions"]
        assert vscode["settings"]["python.testing.pytestEnabled"] is True
        for system_module in ("edgeAgent", "edgeHub"):  # IoT Edge 1.6 LTS, as the manifests
            assert vscode["settings"][f"azure-iot-edge.version.{system_module}"] == "1.6"
    gpu_args = {"--gpus=all", "--runtime=nvidia"} & set(document["runArgs"])
    assert bool(gpu_args) == (build["args"]["CUDA_SUPPORT"] == "cuda")
