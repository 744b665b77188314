"""The gates a fine-tuned recogniser passes before REC_MODEL_DIR names it (a fine-tuned
detector's, `train-det`, are at `detector_figures`).

1. Domain: exact lines on the dataset's val (or held-out test) split, read through the
   module's own recogniser, must beat the stock model's.
2. No regression: exact lines on the project's evaluation sets (the demo video's ground
   truth and the rendered set through tools/eval.py, the real-scene photos through
   tools/eval_real.py) may drop by at most 1 point against the stock model.
3. INT8: the model quantized by the project's NNCF recipe (calibrated on the dataset's
   train crops, cached in MODEL_DIR/int8/) reads the domain split on OpenVINO within
   1 point of its FP32 self.

The verdict is written to MODEL_DIR/gate.json (`gate_record.py`): a running module's
twin switches to the model (`recModelDir`, `detModelDir`) only when every gate was met.

Run from the module folder (the evaluation code lives in its tools/ package):
    python -m textdetector.training.gate MODEL_DIR --data DATASET [--split val|test]
Prints each figure beside its target, MET or MISSED; exit 0 only when every gate is met.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import LOCAL_DATA, REC_DIR_MODEL, RecognizerSettings
from ..errors import KitError
from . import gate_record
from .dataset import Sample, read_crop, read_split

MAX_LOSS = 0.01  # exact-line share the evaluation sets may lose
CALIBRATION_CROPS = 300  # train crops the INT8 quantization calibrates on
SETS = ("demo_video", "eval_set", "real_scenes")


@dataclass(frozen=True)
class Figure:
    """One gated figure: stock and fine-tuned, and the rule it must meet. `baseline`
    names what `stock` is in the printed target (the INT8 gate compares with FP32)."""

    name: str
    stock: float
    tuned: float
    rule: str  # "beat" or "keep"
    baseline: str = "stock"

    @property
    def met(self) -> bool:
        if self.rule == "beat":
            return self.tuned > self.stock
        return self.tuned >= self.stock - MAX_LOSS - 1e-9

    def line(self) -> str:
        target = (
            f"> {self.baseline} {self.stock:.3f}"
            if self.rule == "beat"
            else f">= {self.baseline} {self.stock:.3f} - {MAX_LOSS:.2f}"
        )
        verdict = "MET" if self.met else "MISSED"
        return f"{self.name}: {self.tuned:.3f} (target {target}): {verdict}"


def domain_exact(model: Path, data: Path, split: str) -> float:
    """Exact lines of `split` read by the module's recogniser with `model`."""
    from ..recognizer import TextRecognizer

    samples = read_split(data, split)
    crops = [read_crop(data / s.path) for s in samples]
    with TextRecognizer.open(RecognizerSettings(rec_model_path=model)) as reader:
        texts = [text for text, _ in reader.read_crops(crops)]
    return exact_share(texts, [s.text for s in samples])


def eval_exact(stock: Path, tuned: Path, name: str, step: int) -> tuple[float, float]:
    """Exact lines of tools/eval.py's set `name` for both models (same detections)."""
    evaluation = importlib.import_module("tools.eval")  # the module folder's tools/

    samples = (
        evaluation.demo_samples(step) if name == "demo_video" else evaluation.eval_set_samples(0)
    )
    modes = [evaluation.Mode(False, "auto", rec_model=m) for m in (stock, tuned)]
    report = evaluation.evaluate(name, samples, modes, 0, False)
    return report[modes[0].key]["exact_lines"], report[modes[1].key]["exact_lines"]


def int8_exact(tuned: Path, data: Path, split: str, cache: Path) -> tuple[float, float]:
    """Exact lines of `split` on OpenVINO for the model at FP32 and quantized to INT8
    (the project's recipe, calibrated on the train split's crops; cached in `cache`)."""
    samples = read_split(data, split)
    truth = [s.text for s in samples]
    fp32, int8 = int8_readings(tuned, data, samples, cache)
    return exact_share(fp32, truth), exact_share(int8, truth)


def exact_share(read: list[str], truth: list[str]) -> float:
    """The share of `truth`'s lines read exactly."""
    return sum(r == t for r, t in zip(read, truth)) / max(len(truth), 1)


def int8_readings(
    tuned: Path, data: Path, samples: Sequence[Sample], cache: Path
) -> tuple[list[str], list[str]]:
    """The crops of `samples` (of the set in `data`) read on OpenVINO by the model at FP32
    and by its INT8 self (the project's recipe, calibrated on the train split's crops;
    cached in `cache`)."""
    from ..engines.openvino_engine import OpenVinoEngine
    from ..tuning.quantize import cached_or_quantized
    from ..tuning.rec_check import ctc_greedy, rec_blob

    blobs = [rec_blob(read_crop(data / s.path)) for s in samples]
    train = read_split(data, "train")[:CALIBRATION_CROPS]
    xml = cached_or_quantized(
        tuned,
        cache,
        lambda: [rec_blob(read_crop(data / s.path)) for s in train],
        f"{len(train)} train crops",
        transformer=True,
    )
    readings = []
    for path, precision in ((tuned, "fp32"), (xml, "int8")):
        engine = OpenVinoEngine.open(path, precision)
        try:
            characters = engine.metadata["character"].splitlines()
            output = engine.outputs[0].name
            read = [ctc_greedy(engine.run({"x": b})[output][0], characters) for b in blobs]
        finally:
            engine.close()
        readings.append(read)
    return readings[0], readings[1]


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Variables set for the duration (tools/eval_real.py reads its settings from them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def real_exact(model: Path, split: str = "all") -> float:
    """Exact lines of the real-scene set through tools/eval_real.py's reader."""
    eval_real = importlib.import_module("tools.eval_real")

    items = eval_real.load_set(split=split)
    with environment(REC_MODEL_PATH=str(model), REC_MODEL_DIR=""):
        readings, seconds = eval_real.run_reader("ours", items)
    return eval_real.tally(items, readings, seconds)["overall"].exact


def gate(
    model_dir: Path,
    data: Path,
    split: str = "val",
    sets: tuple[str, ...] = SETS,
    step: int = 5,
    int8: bool = True,
) -> list[Figure]:
    """Every figure of the gates for the model in `model_dir` against the stock one
    (and its INT8 self against it); the verdict is written to MODEL_DIR/gate.json."""
    manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") == "textdetector-det":
        figures = detector_figures(model_dir, manifest, data, sets, step)
        gate_record.write(model_dir, [f.__dict__ | {"met": f.met} for f in figures])
        return figures
    tuned = model_dir / REC_DIR_MODEL
    stock = LOCAL_DATA / manifest["base_model"]
    figures = [
        Figure(
            f"domain {split} exact lines",
            domain_exact(stock, data, split),
            domain_exact(tuned, data, split),
            "beat",
        )
    ]
    for name in sets:
        if name == "real_scenes":
            figures.append(
                Figure(f"{name} exact lines", real_exact(stock), real_exact(tuned), "keep")
            )
        else:
            before, after = eval_exact(stock, tuned, name, step)
            figures.append(Figure(f"{name} exact lines", before, after, "keep"))
    if int8:
        fp32, quantized = int8_exact(tuned, data, split, model_dir / "int8")
        figures.append(Figure(f"domain {split} exact lines, INT8", fp32, quantized, "keep", "FP32"))
    gate_record.write(model_dir, [f.__dict__ | {"met": f.met} for f in figures])
    return figures


def detector_figures(
    model_dir: Path, manifest: dict, data: Path, sets: tuple[str, ...], step: int
) -> list[Figure]:
    """A `train-det` folder's gates: its val regions (F1, DetEval matching) must beat the
    shipped detector's; the evaluation sets, read end to end (detector and the default
    recogniser), may lose at most 1 point (word recall on the real photos, exact lines
    on the demo video and the rendered set)."""
    from .det_dataset import read_det_dataset
    from .det_score import score_model

    stock = LOCAL_DATA / manifest["base_model"]
    _, val = read_det_dataset(data)
    figures = [
        Figure(
            "domain val regions F1",
            score_model(stock, val).f1,
            score_model(model_dir / REC_DIR_MODEL, val).f1,
            "beat",
        )
    ]
    for name in sets:
        measure = "word recall" if name == "real_scenes" else "exact lines"
        before, after = (read_with_detector(name, folder, step) for folder in ("", model_dir))
        figures.append(Figure(f"{name} {measure}", before, after, "keep"))
    return figures


def read_with_detector(name: str, folder: Path | str, step: int) -> float:
    """Word recall of the real photos (tools/eval_real.py), or exact lines of a
    tools/eval.py set, read end to end with DET_MODEL_DIR=`folder` ("" = shipped)."""
    with environment(DET_MODEL_DIR=str(folder), MODEL_PATH=""):
        if name == "real_scenes":
            eval_real = importlib.import_module("tools.eval_real")
            items = eval_real.load_set(split="all")
            readings, seconds = eval_real.run_reader("ours", items)
            return float(eval_real.tally(items, readings, seconds)["overall"].recall)
        evaluation = importlib.import_module("tools.eval")
        samples = (
            evaluation.demo_samples(step)
            if name == "demo_video"
            else evaluation.eval_set_samples(0)
        )
        mode = evaluation.Mode(False, "auto")
        return float(evaluation.evaluate(name, samples, [mode], 0, False)[mode.key]["exact_lines"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="train-rec or train-det output"
    )
    parser.add_argument("--data", type=Path, required=True, help="the dataset it trained on")
    parser.add_argument("--split", default="val", help="domain split to gate on (val, test)")
    parser.add_argument("--sets", default=",".join(SETS), help="evaluation sets, comma list")
    parser.add_argument("--step", type=int, default=5, help="every Nth demo video frame")
    parser.add_argument("--no-int8", action="store_true", help="skip the INT8 gate")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sets = tuple(s.strip() for s in args.sets.split(",") if s.strip())
    if any(s not in SETS for s in sets):
        parser.error("--sets takes a comma list of " + ", ".join(SETS))
    try:
        if not (args.model_dir / "manifest.json").is_file():
            raise KitError(
                f"{args.model_dir}: no manifest.json (not a train-rec or train-det output)"
            )
        figures = gate(args.model_dir, args.data, args.split, sets, args.step, not args.no_int8)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for figure in figures:
        print(figure.line())
    if args.json:
        args.json.write_text(json.dumps([f.__dict__ | {"met": f.met} for f in figures], indent=2))
    return 0 if all(f.met for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
