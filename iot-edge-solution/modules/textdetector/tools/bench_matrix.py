"""The engines section of tools/bench.py: every engine x precision on this machine.

Each contender is the real detector opened with ENGINE / PRECISION as a user would set
them (and the performance hint `run` uses on a file), timed two ways over the same 720p
frames, interleaved by bench.measure: the model alone on pre-made blobs (`model_pass`:
with async requests, two in flight), and the whole run loop from the video file (decode thread,
pre-process, model, DB post-process, overlap of frame N+1's inference with frame N's
post-processing where the engine has async requests, console sink). Ratios are to ONNX
Runtime FP32's pipeline, the module's CPU engine before OpenVINO. Each contender's boxes
pass through the parity gate against ONNX Runtime FP32 on the fixed evaluation set.
Engines that cannot run here (TensorRT without a GPU, Triton without a server) are listed
with the reason.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

import bench_engines
import numpy as np

from textdetector.config import EngineSettings, SourceSettings
from textdetector.detector import TextDetector
from textdetector.detector.preprocess import to_blob
from textdetector.engines import InferenceEngine, installed, run_single
from textdetector.engines.base import pipelined
from textdetector.engines.openvino_engine import cpu_supports
from textdetector.pipeline import process
from textdetector.sinks import ConsoleSink
from textdetector.sources import open_source

BASELINE = "onnxruntime fp32"
DEFAULT_TARGET = 1.5  # the default CPU engine against ONNX Runtime FP32, boxes identical
REDUCED_TARGET = 2.5  # where a reduced precision passes its gate
Timed = Callable[[], float]


def available() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(engine, precision) pairs that run here, and the others with why not."""
    pairs = [("onnxruntime", "fp32")]
    absent: dict[str, str] = {
        "tensorrt": "needs an NVIDIA GPU with TensorRT (none here)",
        "triton": "needs a Triton server (make bench-triton)",
    }
    if not installed("openvino"):
        absent["openvino"] = "openvino is not installed"
        return pairs, absent
    pairs.append(("openvino", "fp32"))
    if cpu_supports("bf16"):
        pairs.append(("openvino", "bf16"))
    else:
        absent["openvino bf16"] = "this CPU has no native BF16"
    try:
        import nncf  # noqa: F401  (INT8 is made by NNCF)

        pairs.append(("openvino", "int8"))
    except ImportError:
        absent["openvino int8"] = "nncf is not installed (requirements-dev.txt)"
    return pairs, absent


def open_detectors() -> tuple[dict[str, TextDetector], dict[str, str]]:
    pairs, absent = available()
    detectors = {
        f"{engine} {precision}": TextDetector.open(
            EngineSettings(engine=engine, precision=precision).for_run(True)
        )
        for engine, precision in pairs
    }
    return detectors, absent


def contenders(
    detectors: dict[str, TextDetector], frames: list[np.ndarray], video: Path
) -> dict[str, Timed]:
    """'<engine> <precision> model' and '... pipeline' -> seconds for all frames."""
    runs: dict[str, Timed] = {}
    for label, detector in detectors.items():
        size = detector.input_size(frames[0].shape[:2])
        blobs = [to_blob(frame, size, norm=detector.policy.norm) for frame in frames]
        runs[f"{label} model"] = _model_only(detector, blobs)
        runs[f"{label} pipeline"] = _pipeline(detector, video, len(frames))
    return runs


def model_pass(engine: InferenceEngine, inputs: list[np.ndarray]) -> None:
    """Every input through the model at its best pace: with async requests (OpenVINO) the
    next input is submitted before the previous one is collected, as the run loop does."""
    for _ in pipelined(engine, inputs):
        pass


def _model_only(detector: TextDetector, blobs: list[np.ndarray]) -> Timed:
    def run() -> float:
        start = time.perf_counter()
        model_pass(detector.engine, blobs)
        return time.perf_counter() - start

    return run


def _pipeline(detector: TextDetector, video: Path, count: int) -> Timed:
    def run() -> float:
        start = time.perf_counter()
        source = open_source(SourceSettings(camera_path=str(video)))
        summary = process(detector, [source], [ConsoleSink(stream=io.StringIO(), quiet=True)])
        assert summary.frames == count, summary
        return time.perf_counter() - start

    return run


def gate(detectors: dict[str, TextDetector]) -> dict[str, str]:
    """Each contender's boxes against ONNX Runtime FP32's on the fixed evaluation set."""
    return bench_engines.gate_vs_ort(
        {label: (lambda blob, d=d: run_single(d.engine, blob)) for label, d in detectors.items()},
        BASELINE,
    )


def report(
    table: dict[str, dict], verdicts: dict[str, str], absent: dict[str, str], default: str
) -> dict[str, float]:
    """Print fps per contender, ratios to ONNX Runtime FP32 and the targets."""
    base = table[f"{BASELINE} pipeline"]["fps"]
    print(f"\nengines x precisions, 720p (ratio = pipeline fps / {BASELINE} pipeline fps)")
    print(
        f"  {'contender':<18}{'model fps':>10}{'pipeline fps':>14}{'ratio':>8}"
        f"{'pipe/model':>12}  gate"
    )
    ratios: dict[str, float] = {}
    for label in verdicts:
        model, pipe = table[f"{label} model"]["fps"], table[f"{label} pipeline"]["fps"]
        ratios[label] = round(pipe / base, 3)
        print(
            f"  {label:<18}{model:>10.2f}{pipe:>14.2f}{pipe / base:>7.2f}x"
            f"{pipe / model:>12.2f}  {verdicts[label]}"
        )
    for name, why in absent.items():
        print(f"  {name:<18}{'n/a':>10}{'':>14}{'':>8}{'':>12}  {why}")
    _target(f"default engine ({default}) vs {BASELINE}", ratios.get(default), DEFAULT_TARGET)
    passing = [
        label
        for label, text in verdicts.items()
        if label.split()[1] in ("int8", "bf16") and "PASS" in text
    ]
    best = max(passing, key=lambda label: ratios[label], default=None)
    _target(
        f"best passing reduced precision ({best or 'none'}) vs {BASELINE}",
        ratios.get(best) if best else None,
        REDUCED_TARGET,
    )
    return ratios


def _target(what: str, value: float | None, target: float) -> None:
    figure = "n/a" if value is None else f"{value:.2f}x"
    verdict = "MISSED" if value is None or value < target else "MET"
    print(f"  {what}: {figure} (target >= {target}x) {verdict}")


def machine() -> str:
    """CPU model and core count, for the tables' headings."""
    import os
    import platform

    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def markdown(
    table: dict[str, dict], verdicts: dict[str, str], ratios: dict[str, float], where: str
) -> str:
    """The README's engines table, regenerated from this run."""
    rows = [
        f"Measured by `make bench` on {where} (720p demo frames, medians of interleaved rounds).",
        "",
        "| engine, precision | model fps | pipeline fps | vs ONNX Runtime FP32 | gate |",
        "|---|---|---|---|---|",
    ]
    for label, verdict in verdicts.items():
        rows.append(
            f"| {label} | {table[f'{label} model']['fps']:.2f} | "
            f"{table[f'{label} pipeline']['fps']:.2f} | {ratios[label]:.2f}x | "
            f"{verdict} |"
        )
    return "\n".join(rows) + "\n"
