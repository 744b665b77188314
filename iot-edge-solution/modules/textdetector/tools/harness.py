"""The benchmarks' shared harness: demo frames, contender runs, interleaved measurement,
targets printed beside the figures, the results folder.

Every benchmark compares contenders measured side by side in one run: each contender is
a callable returning the seconds one pass took, and `measure` runs them in turn, round
after round (A B C A B C ...), so drift of a shared machine hits all alike.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import cv2
import numpy as np

from textdetector.config import DEFAULT_VIDEO, SourceSettings
from textdetector.detector import TextDetector
from textdetector.engines import InferenceEngine
from textdetector.engines.base import pipelined
from textdetector.pipeline import process
from textdetector.sinks import ConsoleSink
from textdetector.sources import open_source

MODULE_DIR = Path(__file__).resolve().parent.parent
REPO = MODULE_DIR.parent.parent.parent
RESULTS = REPO / "bench-results"  # every tool's figures and tables
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
FIRST_TEXT_FRAME = 15  # the demo's first second has no text

Timed = Callable[[], float]  # one pass of a contender: seconds taken
T = TypeVar("T")


def rapidocr3() -> Callable[[np.ndarray], tuple[str, ...]]:
    """RapidOCR 3.10.0 at its defaults (models from its own wheel, offline): a BGR image
    in, the texts it read out. A partial result (boxes without texts: its classifier or
    recogniser failed on the image) reads as nothing."""
    import logging

    from rapidocr import RapidOCR
    from rapidocr.ch_ppocr_rec import TextRecOutput
    from rapidocr.utils.output import RapidOCROutput

    engine = RapidOCR(params={"Global.log_level": "error"})
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)

    def read(image: np.ndarray) -> tuple[str, ...]:
        result = engine(image)
        if not isinstance(result, (RapidOCROutput, TextRecOutput)):
            return ()
        return tuple(result.txts or ())

    return read


def demo_frames(
    count: int, size: tuple[int, int] | None = None, first: int = FIRST_TEXT_FRAME
) -> list[np.ndarray]:
    """`count` demo frames from frame `first` on, resized to `size` (w, h) if given."""
    if not DEFAULT_VIDEO.is_file():
        sys.exit("error: demo video missing: run `make setup`")
    cap = cv2.VideoCapture(str(DEFAULT_VIDEO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        if size is not None and (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        frames.append(frame)
    cap.release()
    return frames


def write_video(frames: list[np.ndarray], path: Path) -> Path:
    """`frames` as an mp4 file at 15 fps (the demo's rate)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 15, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def clip(count: int, rounds: int, size_name: str, folder: Path) -> tuple[list[np.ndarray], Path]:
    """The size's demo frames and the same frames as a video file in `folder`."""
    frames = demo_frames(count, SIZES[size_name])
    video = write_video(frames, folder / f"{size_name}.mp4")
    print(f"{size_name}: {len(frames)} frames x {rounds} rounds per contender ...", flush=True)
    return frames, video


# Contender runs: each returns the seconds one pass over all its inputs took.


def model_pass(engine: InferenceEngine, inputs: list[np.ndarray]) -> None:
    """Every input through the model at its best pace: with async requests (OpenVINO) the
    next input is submitted before the previous one is collected, as the run loop does."""
    for _ in pipelined(engine, inputs):
        pass


def timed(call: Callable[[], object]) -> Timed:
    """`call` as a contender run: it returns the seconds `call` took."""

    def run() -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    return run


def model_only(engine: InferenceEngine, blobs: list[np.ndarray]) -> Timed:
    """The model alone on pre-made inputs."""

    def run() -> float:
        start = time.perf_counter()
        model_pass(engine, blobs)
        return time.perf_counter() - start

    return run


def each_frame(call: Callable[[np.ndarray], object], frames: list[np.ndarray]) -> Timed:
    """`call` on every frame in turn (a detector's `detect`, a RapidOCR object)."""

    def run() -> float:
        start = time.perf_counter()
        for frame in frames:
            call(frame)
        return time.perf_counter() - start

    return run


def pipeline(
    detector: TextDetector, video: Path, count: int, sinks: Iterable = (), **kwargs: Any
) -> Timed:
    """The whole run loop from the video file to a quiet console sink (and `sinks`);
    `kwargs` go to `process` (recognizer, options)."""

    def run() -> float:
        start = time.perf_counter()
        source = open_source(SourceSettings(camera_path=str(video)))
        quiet = ConsoleSink(stream=io.StringIO(), quiet=True)
        summary = process(detector, [source], [quiet, *sinks], **kwargs)
        assert summary.frames == count, summary
        return time.perf_counter() - start

    return run


def detection_blobs(detector: TextDetector, frames: list[np.ndarray]) -> list[np.ndarray]:
    """The detector's model inputs for `frames`, made once before timing."""
    from textdetector.detector.preprocess import to_blob

    size = detector.input_size(frames[0].shape[:2])
    return [to_blob(frame, size, norm=detector.policy.norm) for frame in frames]


# Measurement


def measure(runs: dict[str, Timed], count: int, rounds: int) -> dict[str, dict]:
    """Interleave contenders round by round (A B C A B C ...): drift hits all alike.
    Median fps over the rounds (each pass handles `count` frames) and every round's."""
    for run in runs.values():
        run()  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            seconds[name].append(run())
    return {
        name: {
            "fps": count / statistics.median(values),
            "fps_all": [round(count / v, 2) for v in values],
        }
        for name, values in seconds.items()
    }


def alternate(measures: dict[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Each measure once per round, in turn, `rounds` times: every one's results in order."""
    results: dict[str, list[T]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, run in measures.items():
            results[name].append(run())
    return results


# Reporting: the target beside every figure that has one


def verdict(value: float | None, target: float, at_most: bool = False) -> str:
    """MET or MISSED (no figure: MISSED); `at_most` for limits (ms, overhead)."""
    if value is None:
        return "MISSED"
    return "MET" if (value <= target if at_most else value >= target) else "MISSED"


def fps_table(title: str, table: dict[str, dict], width: int = 20) -> None:
    """Median fps of each contender with every round's figure."""
    print(title)
    print(f"  {'contender':<{width}}{'median fps':>12}   runs")
    for name, row in table.items():
        print(f"  {name:<{width}}{row['fps']:>12.2f}   {row['fps_all']}")


def ratios(
    table: dict[str, dict], pairs: Iterable[tuple[str, str, float | None]]
) -> dict[str, float]:
    """fps(a) / fps(b) for each pair measured, printed with its target and verdict."""
    found: dict[str, float] = {}
    for a, b, target in pairs:
        if a in table and b in table:
            value = table[a]["fps"] / table[b]["fps"]
            found[f"{a}/{b}"] = round(value, 3)
            goal = f"   (target >= {target})  {verdict(value, target)}" if target else ""
            print(f"  ratio {a}/{b}: {value:.2f}{goal}")
    return found


def target_line(what: str, value: float | None, target: float) -> None:
    """`what: <figure>x (target >= <target>x) MET`; a figure not measured is n/a, MISSED."""
    figure = "n/a" if value is None else f"{value:.2f}x"
    print(f"  {what}: {figure} (target >= {target}x) {verdict(value, target)}")


def cell(value: float, target: float | None = None, at_most: bool = False) -> str:
    """A table cell: the figure, and its verdict where it has a target."""
    return f"{value:.2f}" + (f" {verdict(value, target, at_most)}" if target else "")


def markdown(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table (the generated tables in bench-results/ the docs quote)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> Path:
    """A generated table (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, data: object, indent: int = 1) -> Path:
    """The figures as JSON (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n", encoding="utf-8")
    return path


def machine() -> str:
    """CPU model and core count, for the tables' headings."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def test_harness(name: str) -> ModuleType:
    """A module of the test harness (testing/, put on PYTHONPATH by `make bench`), or one
    readable line and exit 2 when it is not on the path."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        print(
            f"error: the test harness module {name!r} is not importable: run "
            "`make bench SECTION=...` (it puts testing/ on PYTHONPATH)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a server the tool starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
