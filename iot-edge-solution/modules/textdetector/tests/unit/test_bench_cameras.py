"""tools/bench_cameras.py's search and report. A whole run starts the module many times
for minutes (`make bench SECTION=cameras`); here the trial is replaced by a capacity
rule, so the doubling-then-bisecting search and the written figures are checked."""

from __future__ import annotations

import argparse
import json

import pytest

from tools import bench_cameras


@pytest.mark.parametrize(("capacity", "limit"), [(0, 32), (1, 32), (5, 32), (13, 32), (40, 32)])
def test_the_search_finds_the_largest_count_that_holds(monkeypatch, capacity, limit):
    tried: list[int] = []

    def trial(url, mode, cameras, args):
        tried.append(cameras)
        return bench_cameras.Trial(mode, cameras, cameras <= capacity, 5.0, 0)

    monkeypatch.setattr(bench_cameras, "trial", trial)
    args = argparse.Namespace(max_cameras=limit)
    found, trials = bench_cameras.most_cameras("http://127.0.0.1:1/cam", "off", args)
    assert found == min(capacity, limit)
    assert len(tried) == len(set(tried)) and len(trials) == len(tried)
    assert len(tried) <= 2 * limit.bit_length()  # doubling, then bisecting


def test_report_writes_the_ratio_beside_the_target(tmp_path, capsys):
    args = argparse.Namespace(fps=5.0, seconds=20.0, out=tmp_path, precision="")
    found = {"off": (2, []), "frame": (7, [bench_cameras.Trial("frame", 7, True, 5.0, 0)])}
    assert bench_cameras.report(found, ["off", "frame"], args) == 0
    figures = json.loads((tmp_path / "cameras.json").read_text())
    assert figures["cameras"] == {"off": 2, "frame": 7} and figures["ratio"] == 3.5
    assert "3.50x MET" in (tmp_path / "cameras.md").read_text()
    assert "(target >= 3.0x) MET" in capsys.readouterr().out
    none = {"off": (0, []), "frame": (3, [])}
    bench_cameras.report(none, ["off", "frame"], args)
    assert "n/a MISSED" in (tmp_path / "cameras.md").read_text()


def test_a_precision_asked_for_is_named_in_its_own_table(tmp_path, monkeypatch, capsys):
    """--precision auto: both modes ran it, and the table says what the gate chose (the
    verdict the trials' module processes cached), in files of their own."""
    from textdetector.tuning import select

    verdict = tmp_path / "gate.json"
    verdict.write_text(json.dumps({"key": {}, "chosen": "bf16", "summaries": []}))
    monkeypatch.setattr(select, "GATE_CACHE", verdict)
    args = argparse.Namespace(fps=5.0, seconds=20.0, out=tmp_path, precision="auto")
    bench_cameras.report({"off": (1, []), "region": (5, [])}, ["off", "region"], args)
    figures = json.loads((tmp_path / "cameras-auto.json").read_text())
    assert figures["precision"] == "auto: bf16" and figures["ratio"] == 5.0
    assert "PRECISION=auto: bf16)" in (tmp_path / "cameras-auto.md").read_text()
    assert not (tmp_path / "cameras.md").exists()
    verdict.unlink()  # no verdict cached: only what was asked
    assert bench_cameras.precision_said("auto") == "auto"
    assert bench_cameras.precision_said("") == "fp32"


def test_the_precision_in_the_environment_is_the_one_named(monkeypatch):
    """`PRECISION=bf16 make bench SECTION=cameras` runs the trials at BF16 (the module
    inherits the environment): the table must not call them FP32."""
    monkeypatch.setenv("PRECISION", "bf16")
    assert bench_cameras.parse([]).precision == "bf16"
    assert bench_cameras.parse(["--precision", "auto"]).precision == "auto"
    monkeypatch.delenv("PRECISION")
    assert bench_cameras.parse([]).precision == ""


def test_camera_urls_are_distinct_sources_of_one_camera():
    urls = bench_cameras.camera_urls("http://127.0.0.1:9/cam", 3)
    assert len(set(urls)) == 3 and all(u.startswith("http://127.0.0.1:9/cam?") for u in urls)


def test_capacity_is_the_best_processed_rate_in_cameras_worth(tmp_path, capsys):
    """A mode holding no camera still gets a figure, so before and after compare."""
    trial = bench_cameras.Trial
    off = [trial("off", 1, False, 5.0, 16, "", 3.9)]
    frame = [trial("frame", n, n <= 3, 5.0, 0, "", min(5.0 * n, 17.5)) for n in (1, 2, 4, 3)]
    assert bench_cameras.capacity(off, 5.0) == 0.78
    assert bench_cameras.capacity(frame, 5.0) == 3.5  # the 4-camera trial's 17.5 fps
    # a trial never counts for more cameras than it had (a burst after a stall)
    assert bench_cameras.capacity([trial("frame", 1, True, 5.0, 0, "", 9.0)], 5.0) == 1.0
    assert bench_cameras.capacity([], 5.0) == 0.0
    args = argparse.Namespace(fps=5.0, seconds=20.0, out=tmp_path, precision="")
    bench_cameras.report({"off": (0, off), "frame": (3, frame)}, ["off", "frame"], args)
    figures = json.loads((tmp_path / "cameras.json").read_text())
    assert figures["capacity"] == {"off": 0.78, "frame": 3.5}
    assert figures["capacity_ratio"] == 4.49 and figures["ratio"] is None
    table = (tmp_path / "cameras.md").read_text()
    assert "| off | 0 | 0.78 |" in table and "3.50 (4.49x) | n/a MISSED |" in table
    assert "cameras' worth of frames, frame vs off: 4.49x" in capsys.readouterr().out


def test_frames_done_sums_inferred_and_reused_of_the_asked_sources():
    """The /metrics text is the module's own exposition (ReuseCollector rendered by
    prometheus_client); only the HTTP fetch is replaced."""
    from prometheus_client import CollectorRegistry, generate_latest

    from textdetector.temporal.metrics import ReuseBoard, ReuseCollector
    from textdetector.temporal.stats import ReuseStats

    board = ReuseBoard()
    board.add("http://cam?camera=0", ReuseStats(frames_inferred=7, frames_reused=30))
    board.add("http://cam?camera=1", ReuseStats(frames_inferred=5, frames_reused=2))
    board.add("other", ReuseStats(frames_inferred=100))
    registry = CollectorRegistry()
    registry.register(ReuseCollector(board))
    body = generate_latest(registry).decode()

    class Module:
        def __init__(self, status: int) -> None:
            self.status = status

        def get(self, path: str) -> tuple[int, str]:
            assert path == "/metrics"
            return self.status, body

    urls = bench_cameras.camera_urls("http://cam", 2)
    assert bench_cameras.frames_done(Module(200), urls) == 44
    assert bench_cameras.frames_done(Module(503), urls) is None


def test_trials_run_the_module_at_its_own_detection_defaults(monkeypatch):
    """The harness's quick detector (a 320-pixel input, one thread) must not reach a
    trial: it measures the module as a user runs it. The trial's own call is captured
    (no module is started) and its environment built as ModuleProcess builds it."""
    import module_process

    from textdetector.config import DetectorSettings, EngineSettings, load

    calls = []

    class Module:
        def __init__(self, env, quick=True):
            calls.append(module_process.module_environ(env, quick))

        def wait_for(self, *args):
            return False

        def stop(self):
            pass

    monkeypatch.setattr(module_process, "ModuleProcess", Module)
    url = "http://127.0.0.1:1/cam"
    assert not bench_cameras.trial(url, "off", 2, argparse.Namespace(precision="")).held
    assert not bench_cameras.trial(url, "off", 1, argparse.Namespace(precision="auto")).held
    env, asked = calls
    assert "PRECISION" not in env and asked["PRECISION"] == "auto"
    engine, detector = load(EngineSettings, env), load(DetectorSettings, env)
    assert detector.policy(engine.model_path) == DetectorSettings().policy(
        EngineSettings().model_path
    )
    assert engine.threads == EngineSettings().threads
    assert env["TEMPORAL_REUSE"] == "off" and env["CAMERA_PATH"].endswith("camera=1")
    quick = module_process.module_environ({}, quick=True)
    assert load(DetectorSettings, quick).limit_side_len == 320  # what the tests run
