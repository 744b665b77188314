"""The module as a real subprocess on a real stream, sending to a real TLS mosquitto that
plays the hub: each source state change arrives as a `sourceState` message (valid against
the schema), the twin reports `sources`, and a SIGTERM while the hub is unreachable exits
0 within SHUTDOWN_GRACE, saying what it could not send."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest
from module_process import ModuleProcess
from mqtt_broker import CONNECTION_STRING
from stream_servers import serve

from textdetector.sinks.iothub import SCHEMA_PATH

SCHEMA = json.loads(Path(SCHEMA_PATH).read_text())


@pytest.fixture
def camera():
    yield from serve("mjpeg")


def source_states(hub) -> list[dict]:  # noqa: F811
    with hub.cond:
        items = list(hub.telemetry)
    bodies = [t.json() for t in items if t.properties.get("kind") == "sourceState"]
    for body in bodies:
        jsonschema.validate(body, SCHEMA)
    return bodies


def test_state_changes_reach_the_hub_and_sigterm_offline_exits_in_grace(broker, hub, camera):  # noqa: F811
    grace = 2.0
    module = ModuleProcess(
        {
            "CAMERA_PATH": camera.url,
            "IOTHUB_CONNECTION_STRING": CONNECTION_STRING,
            "IOTHUB_CA_CERT": str(broker.ca),
            "IOTHUB_SEND_MODE": "every",
            "IOTHUB_REPORT_INTERVAL": "60",
            "RECONNECT_DELAY": "0.3",
            "RECONNECT_MAX_DELAY": "1.5",
            "SHUTDOWN_GRACE": str(grace),
        }
    )
    broker_stopped = False
    try:
        assert hub.wait_for(
            lambda: [b["source"]["state"] for b in source_states(hub)] == ["connected"], 60
        ), module.log()
        camera.kill()
        assert hub.wait_for(
            lambda: "down" in [b["source"]["state"] for b in source_states(hub)], 20
        ), module.log()
        camera.start()
        assert hub.wait_for(lambda: source_states(hub)[-1]["source"]["state"] == "connected", 20), (
            module.log()
        )
        states = [(b["previous"], b["source"]["state"]) for b in source_states(hub)]
        assert (
            states[:3]
            == [
                ("reconnecting", "connected"),
                ("connected", "reconnecting"),
                ("reconnecting", "down"),
            ]
            and states[-1][1] == "connected"
        )
        last = source_states(hub)[-1]
        assert last["source"]["id"] == camera.url and last["source"]["reconnects"] >= 1
        assert hub.wait_for(
            lambda: any(
                r.get("sources", [{}])[0].get("state") == "connected"
                and r["sources"][0]["reconnects"] >= 1
                for r in hub.reported
                if r.get("sources")
            ),
            20,
        )
        broker.stop()  # the hub goes away: messages pile up in the outbox
        broker_stopped = True
        time.sleep(1.5)
        code = module.stop()
    finally:
        module.kill()
        if broker_stopped:
            broker.start()
    print(f"SIGTERM to exit with the hub offline: {module.exit_seconds:.2f} s")
    assert code == 0, module.log()
    assert module.exit_seconds < grace + 3, module.log()
    assert any("messages not delivered within" in line for line in module.stderr), module.log()
    assert "Traceback" not in module.log(), "\n".join(module.stderr)
