"""The Azure Machine Learning command job (deploy/azureml/train-rec.job.yml), loaded and
validated offline by the azure-ai-ml SDK's `load_job` (no workspace is contacted); broken
copies must fail to load, and its command must be one the real `train-rec` parser takes."""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path

import pytest
import yaml

JOB = Path(__file__).resolve().parents[5] / "deploy" / "azureml" / "train-rec.job.yml"
pytestmark = pytest.mark.filterwarnings("ignore::marshmallow.warnings.RemovedInMarshmallow4Warning")
PLACEHOLDER = re.compile(r"\$\{\{(inputs|outputs)\.(\w+)\}\}")


@pytest.fixture(scope="module")
def load_job():
    pytest.importorskip("azure.ai.ml", reason="azure-ai-ml is in requirements-dev.txt")
    from azure.ai.ml import load_job

    return load_job


def spec() -> dict:
    return yaml.safe_load(JOB.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "job.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_job_loads_as_a_command_job(load_job):
    from azure.ai.ml.entities import Command

    job = load_job(JOB)
    assert isinstance(job, Command)
    assert spec()["$schema"].endswith("/commandJob.schema.json")
    assert job.command.split()[:3] == ["python", "/app/main.py", "train-rec"]
    assert job.inputs["data"].type == "uri_folder"
    assert job.outputs["model"].type == "uri_folder" and job.outputs["model"].mode == "upload"
    assert job.environment.image.rsplit("/", 1)[-1].startswith("textdetector-train:")
    assert job.compute == "cpu-cluster"


def test_every_placeholder_of_the_command_is_declared(load_job):
    """The SDK loads a command naming an input it lacks; the job must not."""
    data = spec()
    for kind, name in PLACEHOLDER.findall(data["command"]):
        assert name in data[kind], f"${{{{{kind}.{name}}}}} is not declared"


def test_the_command_parses_with_the_real_cli():
    """The flags the job passes are train-rec's own (its parser, not a copy of it)."""
    from textdetector.cli import build_parser

    data = spec()
    values = {
        "data": "/mnt/data",
        "model": "/mnt/model",
        "max_steps": str(data["inputs"]["max_steps"]),
    }
    command = PLACEHOLDER.sub(lambda m: values[m.group(2)], data["command"])
    args = build_parser().parse_args(shlex.split(command)[2:])
    assert (str(args.data), str(args.out), args.max_steps) == ("/mnt/data", "/mnt/model", 0)


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda d: d["inputs"]["data"].update(type="uri_foldr"), id="input type"),
        pytest.param(lambda d: d["outputs"]["model"].update(type="folder"), id="output type"),
        pytest.param(lambda d: d.pop("command"), id="no command"),
        pytest.param(lambda d: d.update(comand=d.pop("command")), id="misspelt key"),
        pytest.param(lambda d: d.pop("environment"), id="no environment"),
        pytest.param(lambda d: d["inputs"].update(max_steps={"type": "integer"}), id="input"),
    ],
)
def test_broken_copies_fail_to_load(load_job, tmp_path, break_it):
    from marshmallow.exceptions import ValidationError

    data = copy.deepcopy(spec())
    break_it(data)
    with pytest.raises(ValidationError):
        load_job(write(tmp_path, data))


def test_a_missing_input_is_caught(tmp_path):
    data = copy.deepcopy(spec())
    data["inputs"].pop("data")
    missing = [n for k, n in PLACEHOLDER.findall(data["command"]) if n not in data[k]]
    assert missing == ["data"]
