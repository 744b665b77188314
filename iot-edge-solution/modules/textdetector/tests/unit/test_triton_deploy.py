"""Cluster and device layouts for Triton: Kubernetes manifests and the IoT Edge template.

The manifests are validated offline against the Kubernetes 1.30 API schemas (strict:
unknown fields fail) with PyPI kubernetes-validate; the IoT Edge Triton template is also
checked by every parametrised test of test_inner_loop_deployment.py.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
from inner_loop_support import REPO, SOLUTION, strict_json

from textdetector import __version__
from textdetector.config import RUN_GROUPS

yaml = pytest.importorskip("yaml")
KUBERNETES_VERSION = "1.30.0"
MANIFESTS = REPO / "deploy" / "kubernetes"
PENDING_ENV: set[str] = set()  # variables a manifest sets before the code reads them


def documents() -> list[dict]:
    docs = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def find(kind: str, name: str) -> dict:
    return next(d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name)


def container(deployment: dict, index: int = 0) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][index]


def code_env() -> set[str]:
    return {f.metadata["env"] for cls, _ in RUN_GROUPS.values() for f in dataclasses.fields(cls)}


def validate(doc: dict) -> None:
    kv = pytest.importorskip("kubernetes_validate")
    kv.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("index", range(len(documents())))
def test_manifests_validate_against_the_kubernetes_schema(index):
    validate(documents()[index])


def test_the_schema_check_can_fail():
    kv = pytest.importorskip("kubernetes_validate")
    broken = copy.deepcopy(find("Deployment", "triton"))
    broken["spec"]["replicas"] = "one"
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, KUBERNETES_VERSION, strict=True)


def test_triton_runs_on_a_gpu_node_from_the_exported_repository():
    triton = find("Deployment", "triton")
    spec = triton["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    server = container(triton)
    assert server["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--model-repository=/models" in server["args"]
    assert server["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    (export,) = spec["initContainers"]
    assert export["command"][:4] == ["python3", "main.py", "export-triton", "/models"]
    assert export["image"] == f"localhost:5000/textdetector:{__version__}-amd64"
    ports = {p["name"]: p["containerPort"] for p in server["ports"]}
    service = find("Service", "triton")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == ports
    assert service["spec"]["selector"] == triton["spec"]["selector"]["matchLabels"]


def test_camera_group_reads_its_cameras_and_the_triton_url():
    group = find("Deployment", "textdetector-group-a")
    assert group["spec"]["replicas"] == 1 and group["spec"]["strategy"]["type"] == "Recreate"
    refs = {next(iter(r)): r[next(iter(r))]["name"] for r in container(group)["envFrom"]}
    config = find("ConfigMap", refs["configMapRef"])["data"]
    cameras = find("Secret", refs["secretRef"])["stringData"]
    assert "CAMERA_PATH" in cameras and "CAMERA_PATH" not in config
    assert config["TRITON_URL"] == "grpc://triton:8001" and config["ENGINE"] == "triton"
    grpc_port = {p["name"]: p["port"] for p in find("Service", "triton")["spec"]["ports"]}
    assert grpc_port["grpc"] == 8001
    unknown = (set(config) | set(cameras)) - code_env() - PENDING_ENV
    assert not unknown, f"variables no code reads: {unknown}"


def test_scoring_service_readiness_is_the_module_endpoint():
    scorer = container(find("Deployment", "textscorer"))
    assert scorer["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    source = REPO / "iot-edge-solution/modules/textdetector/textdetector/serve/app.py"
    assert '"/v2/health/ready"' in source.read_text()


def test_iot_edge_triton_template_adds_only_triton():
    base = strict_json(SOLUTION / "deployment.template.json")
    triton = strict_json(SOLUTION / "deployment.triton.template.json")
    modules = triton["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    server = modules.pop("triton")
    env = modules["textdetector"]["settings"]["createOptions"]["Env"]
    env.remove("ENGINE=triton")
    env.remove("TRITON_URL=grpc://triton:8001")  # the module name is its host name
    assert triton == base
    options = server["settings"]["createOptions"]
    assert options["HostConfig"]["Runtime"] == "nvidia"
    assert options["HostConfig"]["Binds"] == ["${TRITON_MODEL_REPOSITORY}:/models:ro"]
    assert "--model-repository=/models" in options["Cmd"]
    assert server["settings"]["image"].startswith("nvcr.io/nvidia/tritonserver:")
