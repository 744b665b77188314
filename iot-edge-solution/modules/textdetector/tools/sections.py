"""The benchmark sections `make bench SECTION=...` runs: one name, one tool (or two).

Usage: python -m tools.sections SECTION [the tool's own options ...]
       python -m tools.sections --list
Options after the section go to its tool (for `all`: to tools/bench.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """What a section runs: tools.<module>.main(preset + options), then any `then`."""

    about: str
    module: str
    preset: tuple[str, ...] = ()
    then: tuple[str, ...] = field(default=())  # modules run afterwards with no options


SECTIONS: dict[str, Section] = {
    "all": Section(
        "detection, OCR and the engine matrix (tools/bench.py), then the demo video end to end",
        "bench",
        then=("bench_e2e",),
    ),
    "detection": Section(
        "model-only vs detector vs pipeline vs RapidOCR, 720p and 1080p",
        "bench",
        ("--sections", "detection"),
    ),
    "ocr": Section(
        "detection + recognition vs RapidOCR 1.4.4 and 3.10 (ratios, crop figures)",
        "bench",
        ("--sections", "ocr"),
    ),
    "matrix": Section(
        "every engine x precision here: fps, ratios, parity gate, the engines table",
        "bench",
        ("--sections", "engines"),
    ),
    "e2e": Section("the demo video end to end, whole processes, vs RapidOCR 3.10", "bench_e2e"),
    "engines": Section(
        "ONNX Runtime vs OpenVINO FP32/BF16/INT8: ms, ratios, parity gate", "bench_engines"
    ),
    "constrain": Section(
        "REC_PATTERN's constrained CTC search per line on top of the model (target <= 1 ms)",
        "bench_constrain",
    ),
    "post": Section(
        "dense-text (500+ words) post-process: fast vs reference, ms", "bench_postprocess"
    ),
    "streams": Section(
        "N = 1, 2, 4, 8 sources in one process: fps and batch sizes; then cameras per box",
        "bench_streams",
        then=("bench_cameras",),
    ),
    "cameras": Section(
        "fixed 720p 5 fps cameras one process holds, TEMPORAL_REUSE off vs region (target 3x)",
        "bench_cameras",
    ),
    "http": Section(
        "HTTP service vs in-process vs a Flask baseline (concurrency 1/4/16)", "bench_http"
    ),
    "triton": Section(
        "N sources through a local Triton server vs local ONNX Runtime", "bench_triton"
    ),
    "gpu": Section("TensorRT FP16/FP32, ORT CUDA vs ORT CPU (skips what is absent)", "bench_gpu"),
    "reuse": Section(
        "TEMPORAL_REUSE off vs frame vs region on fixed-camera clips and the demo video",
        "bench_reuse",
    ),
    "drawing": Section(
        "annotate() on 720p with 30 labels (cached, new) vs whole-frame Pillow; mp4v encode",
        "bench_drawing",
    ),
    "preview": Section(
        "live preview: fps with it off / no viewer / one viewer, RSS with a viewer "
        "(--soak-seconds 600 for 10 min)",
        "bench_preview",
    ),
    "soak": Section("fps and RSS over 10,000 frames (--seconds 600 for time)", "soak"),
    "soak-streams": Section(
        "a test stream crashed every 30 s for 10 min: RSS and thread drift", "soak_streams"
    ),
}


def listing() -> str:
    """One line per section: its name and what it measures."""
    width = max(map(len, SECTIONS)) + 2
    return "\n".join(f"  {name:<{width}}{s.about}" for name, s in SECTIONS.items())


def run(name: str, options: Sequence[str]) -> int:
    """The section's tool(s), in order; stops at the first non-zero exit code."""
    section = SECTIONS[name]
    steps = [(section.module, [*section.preset, *options])]
    steps += [(module, []) for module in section.then]
    for module, argv in steps:
        code = importlib.import_module(f"tools.{module}").main(argv)
        if code:
            return code
    from . import charts  # the PNG charts beside the tables just written

    charts.main([str(charts.RESULTS)])  # a results file it cannot read: one line, no stop
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "--list"):
        print(f"{__doc__.splitlines()[2]}\nsections:\n{listing()}")
        return 0 if args else 2
    if args[0] not in SECTIONS:
        print(
            f"error: unknown benchmark section {args[0]!r}: one of {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    return run(args[0], args[1:])


if __name__ == "__main__":
    sys.exit(main())
