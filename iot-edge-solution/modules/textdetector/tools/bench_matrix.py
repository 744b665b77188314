"""The engines section of tools/bench.py: every engine x precision on this machine.

Each contender is the real detector opened with ENGINE / PRECISION as a user would set
them (and the performance hint `run` uses on a file), timed two ways over the same 720p
frames, interleaved by harness.measure: the model alone on pre-made blobs (`model_pass`:
with async requests, two in flight), and the whole run loop from the video file (decode thread,
pre-process, model, DB post-process, overlap of frame N+1's inference with frame N's
post-processing where the engine has async requests, console sink). Ratios are to ONNX
Runtime FP32's pipeline, the module's CPU engine before OpenVINO. Each contender's boxes
pass through the parity gate against ONNX Runtime FP32 on the fixed evaluation set.
Engines that cannot run here (TensorRT without a GPU, Triton without a server) are listed
with the reason.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from textdetector.config import EngineSettings
from textdetector.detector import TextDetector
from textdetector.engines import installed, run_single
from textdetector.engines.openvino_engine import cpu_supports

from . import bench_engines, harness

BASELINE = "onnxruntime fp32"
DEFAULT_TARGET = 1.5  # the default CPU engine against ONNX Runtime FP32, boxes identical
REDUCED_TARGET = 2.5  # where a reduced precision passes its gate


def available() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(engine, precision) pairs that run here, and the others with why not."""
    pairs = [("onnxruntime", "fp32")]
    absent: dict[str, str] = {
        "tensorrt": "needs an NVIDIA GPU with TensorRT (none here)",
        "triton": "needs a Triton server (make bench SECTION=triton)",
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
            EngineSettings(engine=engine, precision=precision).for_run(True), frames=True
        )
        for engine, precision in pairs
    }
    return detectors, absent


def contenders(
    detectors: dict[str, TextDetector], frames: list[np.ndarray], video: Path
) -> dict[str, harness.Timed]:
    """'<engine> <precision> model' and '... pipeline' -> seconds for all frames."""
    runs: dict[str, harness.Timed] = {}
    for label, detector in detectors.items():
        blobs = harness.detection_blobs(detector, frames)
        runs[f"{label} model"] = harness.model_only(detector.engine, blobs)
        runs[f"{label} pipeline"] = harness.pipeline(detector, video, len(frames))
    return runs


def gate(detectors: dict[str, TextDetector]) -> dict[str, str]:
    """Each contender's boxes against ONNX Runtime FP32's on the fixed evaluation set."""
    return bench_engines.gate_vs_ort(
        {label: partial(run_single, d.engine) for label, d in detectors.items()},
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
    harness.target_line(
        f"default engine ({default}) vs {BASELINE}", ratios.get(default), DEFAULT_TARGET
    )
    passing = [
        label
        for label, text in verdicts.items()
        if label.split()[1] in ("int8", "bf16") and "PASS" in text
    ]
    best = max(passing, key=lambda label: ratios[label], default=None)
    harness.target_line(
        f"best passing reduced precision ({best or 'none'}) vs {BASELINE}",
        ratios.get(best) if best else None,
        REDUCED_TARGET,
    )
    return ratios


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
