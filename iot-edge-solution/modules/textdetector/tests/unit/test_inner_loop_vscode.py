"""VS Code: tasks call the Makefile targets the README documents; workspace and launch configs."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest
from inner_loop_support import MODULE_DIR, REPO, SOLUTION, run, strict_json

TASKS = strict_json(REPO / ".vscode" / "tasks.json")["tasks"]
EXPECTED = {"run", "quick", "test", "coverage", "lint", "bench"}


def task_target(task: dict) -> tuple[str, list[str]]:
    """The make target a task calls and its extra words (${input:...} left out)."""
    words = shlex.split(re.sub(r"\$\{input:[^}]+\}", "", task["command"]))
    assert words[0] == "make", task
    return words[1], words[2:]


def test_tasks_are_exactly_the_documented_targets():
    assert {t["label"] for t in TASKS} == EXPECTED
    readme = (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    for task in TASKS:
        target, extra = task_target(task)
        assert target == task["label"]
        assert all(word.startswith("ARGS=") for word in extra), task
        assert f"make {target}" in readme, f"README does not document make {target}"
        assert re.search(rf"^{target}:", makefile, re.M), f"no {target} target"


def test_default_test_task_is_the_quick_lane():
    """Ctrl+Shift+P > Run Test Task runs `make quick`; `make test` stays a test task."""
    defaults = [
        t["label"] for t in TASKS if t.get("group", {}) == {"kind": "test", "isDefault": True}
    ]
    assert defaults == ["quick"]
    assert next(t for t in TASKS if t["label"] == "test")["group"] == "test"


def test_make_help_lists_every_target():
    """Every target in the Makefile, `setup` included, is listed by `make help`."""
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    done = run(["make", "help"], cwd=REPO, timeout=60)
    listed = set(re.findall(r"^  make ([a-z-]+)", done.stdout, re.M))
    assert "setup" in targets and listed == targets


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t["label"])
def test_every_task_target_resolves(task):
    """`make -n` proves the target and its prerequisites exist (nothing is run)."""
    target, _ = task_target(task)
    done = run(["make", "-n", target], cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


@pytest.mark.slow
def test_lint_task_runs():
    done = run(["make", "lint"], cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_run_task_runs_the_module_on_the_demo_video():
    """The `run` task's command with its prompt answered `--max-frames 2`."""
    task = next(t for t in TASKS if t["label"] == "run")
    command = task["command"].replace("${input:runArgs}", "--max-frames 2")
    done = run(["bash", "-c", command], cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    frames = [line for line in done.stdout.splitlines() if re.match(r"^\s*(frame\s*)?#?\d+", line)]
    assert len(frames) == 2, done.stdout[-2000:]


def test_workspace_lists_the_root_and_every_module():
    workspace = strict_json(REPO / "workspace.code-workspace")
    paths = [folder["path"] for folder in workspace["folders"]]
    assert "." in paths
    for path in paths:
        assert (REPO / path).is_dir(), f"workspace folder {path} does not exist"
    modules = {str(p.parent.relative_to(REPO)) for p in SOLUTION.glob("modules/*/module.json")}
    assert modules and modules <= set(paths), "add each module folder to the workspace"
    assert len(paths) == len(set(paths))


def test_module_settings_point_at_the_project_venv_and_env_file():
    settings = strict_json(MODULE_DIR / ".vscode" / "settings.json")
    assert settings["python.testing.pytestEnabled"] is True

    def resolved(key: str) -> str:
        value = settings[key]
        value = value[-1] if isinstance(value, list) else value
        return os.path.normpath(value.replace("${workspaceFolder}", str(MODULE_DIR)))

    assert resolved("python.defaultInterpreterPath") == str(REPO / ".venv" / "bin" / "python")
    assert resolved("python.envFile") == str(REPO / ".env")
    assert resolved("python.testing.pytestArgs") == str(MODULE_DIR / "tests")


def _launch() -> dict[str, dict]:
    configs = strict_json(MODULE_DIR / ".vscode" / "launch.json")["configurations"]
    return {c["name"]: c for c in configs}


def test_launch_has_the_four_debug_configurations():
    configs = list(_launch().values())
    assert len(configs) == 4
    assert all(c["type"] == "debugpy" for c in configs)
    programs = [c for c in configs if c.get("program", "").endswith("/main.py")]
    assert {c["args"][0] for c in programs} == {"run", "detect"}
    attach = next(c for c in configs if c["request"] == "attach")
    port = attach["connect"]["port"]
    remote = attach["pathMappings"][0]["remoteRoot"]
    for dockerfile in MODULE_DIR.glob("Dockerfile.*.debug"):
        text = dockerfile.read_text()
        assert f"EXPOSE {port}" in text and f"0.0.0.0:{port}" in text
        assert f"WORKDIR {remote}" in text
    test = next(c for c in configs if c.get("module") == "pytest")
    assert "${file}" in test["args"]


@pytest.mark.slow
def test_launch_detect_configuration_runs(tmp_path):
    """Runs the `detect` launch configuration's program and arguments on a real image."""
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is not installed")
    page = Path(skimage_data.__file__).parent / "page.png"
    config = next(c for c in _launch().values() if c.get("args", [""])[0] == "detect")
    args = [a.replace("${input:imagePath}", str(page)) for a in config["args"]]
    program = config["program"].replace("${workspaceFolder}", str(MODULE_DIR))
    done = run([sys.executable, program, *args], cwd=MODULE_DIR, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"boxes"' in done.stdout or "boxes" in done.stdout


HARDWARE = (
    "amd64-with-nvidia-gpu",
    "amd64-without-nvidia-gpu",
    "arm64-without-nvidia-gpu",
    "nvidia-jetson",
)
GUIDES = [REPO / "getting-started" / f"{name}.md" for name in HARDWARE]
EXAMPLES = sorted(set((REPO / "getting-started").glob("*.md")) - set(GUIDES))


def test_four_guides_with_the_required_sections():
    """One guide per hardware, each with the same sections."""
    for guide in GUIDES:
        text = guide.read_text()
        for needed in (
            "## Prerequisites",
            "## Steps",
            "## Known limits",
            "CAMERA_PATH",
            "USE_TENSOR_RT",
        ):
            assert needed in text, f"{guide.name} lacks {needed}"


def test_worked_examples_are_linked_from_the_readme():
    """Every other getting-started page is a worked example the README links."""
    readme = (REPO / "README.md").read_text()
    assert EXAMPLES, "no worked example in getting-started/"
    for page in EXAMPLES:
        assert f"](getting-started/{page.name})" in readme, f"README does not link {page.name}"
        assert "CAMERA_PATH" in page.read_text(), f"{page.name} does not say which source"


DOCS = sorted((REPO / "docs").glob("*.md"))


def test_readme_is_short_and_links_every_docs_page():
    """The README stays a front page (at most 300 lines) that links each docs/ page."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    assert len(DOCS) >= 8
    for page in DOCS:
        assert f"](docs/{page.name})" in readme, f"README does not link docs/{page.name}"


@pytest.mark.parametrize(
    "doc", [REPO / "README.md", REPO / "SECURITY.md", *GUIDES, *DOCS], ids=lambda p: p.name
)
def test_links_and_named_files_exist(doc):
    text = doc.read_text()
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in link:
            assert (doc.parent / link).exists(), f"{doc.name}: broken link {link}"
    for path in re.findall(r"`(\.devcontainer/[\w./-]+|iot-edge-solution/[\w./-]+)`", text):
        assert (REPO / path).exists(), f"{doc.name}: {path} does not exist"
