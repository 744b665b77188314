"""The Azure IoT Operations manifest (deploy/kubernetes/iot-operations.yaml), offline.

Every document is validated against the Kubernetes API schemas by
test_triton_deploy.py's parametrised check (it reads every manifest in the folder);
here: the settings it gives are valid settings of the module, the token and CA the module
is told to read are the ones mounted, and readiness is the module's health endpoint."""

from __future__ import annotations

import pytest
from inner_loop_support import REPO

from textdetector.config import load_settings
from textdetector.mqtt import broker_from_url
from textdetector.pipeline import health_http

yaml = pytest.importorskip("yaml")
MANIFEST = REPO / "deploy" / "kubernetes" / "iot-operations.yaml"


def documents() -> dict[tuple[str, str], dict]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def deployment() -> dict:
    return documents()[("Deployment", "textdetector-aio")]


def pod() -> dict:
    return deployment()["spec"]["template"]["spec"]


def config() -> dict[str, str]:
    (ref,) = pod()["containers"][0]["envFrom"]
    return documents()[("ConfigMap", ref["configMapRef"]["name"])]["data"]


def mounted(path: str) -> dict:
    """The volume that holds `path` in the container."""
    container = pod()["containers"][0]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod()["volumes"] if v["name"] == mount["name"])
    return {"volume": volume, "file": path[len(mount["mountPath"]) + 1 :]}


def test_every_setting_is_a_valid_setting_of_the_module():
    settings = load_settings(config())  # raises ConfigError on any unknown value
    assert settings.mqtt.mqtt_url == "mqtts://aio-broker:18883"
    assert settings.mqtt.mqtt_text_events and settings.recognizer.read_text
    snapshots = broker_from_url(settings.source.camera_path, settings.mqtt, need_topic=True)
    assert (snapshots.host, snapshots.port, snapshots.tls) == ("aio-broker", 18883, True)


def test_broker_token_is_a_projected_service_account_token_for_the_broker():
    found = mounted(config()["MQTT_SAT_FILE"])
    (source,) = found["volume"]["projected"]["sources"]
    token = source["serviceAccountToken"]
    assert token["audience"] == "aio-internal" and token["path"] == found["file"]
    assert pod()["serviceAccountName"] == "textdetector"
    assert pod()["automountServiceAccountToken"] is False  # no API token in the pod


def test_broker_ca_is_iot_operations_trust_bundle():
    found = mounted(config()["MQTT_CA_FILE"])
    assert found["volume"]["configMap"]["name"] == "azure-iot-operations-aio-ca-trust-bundle"
    assert found["file"] == "ca.crt"


def test_readiness_is_the_module_health_endpoint():
    container = pod()["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == "/v2/health/ready" and ports[probe["port"]] == int(
        config()["HEALTH_PORT"]
    )
    assert config()["HEALTH_HOST"] == "0.0.0.0"
    assert '"/v2/health/ready"' in open(health_http.__file__).read()
    service = documents()[("Service", "textdetector-aio")]
    assert service["spec"]["selector"] == deployment()["spec"]["selector"]["matchLabels"]


def test_everything_lives_in_the_iot_operations_namespace():
    assert {d["metadata"]["namespace"] for d in documents().values()} == {"azure-iot-operations"}
