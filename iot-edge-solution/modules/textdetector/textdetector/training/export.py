"""ONNX export of the fine-tuned recogniser, and the proof it is the model that trained.

The graph keeps the shipped model's interface: input `x` (N, 3, 48, W), output
`fetch_name_0` (N, steps, classes) softmax probabilities, the batch and width dynamic,
and the dictionary in the `character` metadata entry the recogniser reads."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch

from ..config import REC_DIR_MODEL
from ..errors import ModelError
from ..recognizer.ctc import CHARACTER_KEY
from .batches import by_width, model_input
from .labels import Dictionary
from .network import Probabilities, Recogniser

MODEL_FILE = REC_DIR_MODEL
INPUT, OUTPUT = "x", "fetch_name_0"
BATCH, WIDTH = "DynamicDimension.0", "DynamicDimension.1"  # the shipped model's names
OPSET = 17
ENGINES = ("onnxruntime", "openvino")


def export_onnx(net: Recogniser, dictionary: Dictionary, path: Path) -> Path:
    """Write `net` (softmax output) as ONNX at `path`, its dictionary in the metadata."""
    if net.classes != len(dictionary.labels):
        raise ModelError(f"network has {net.classes} classes, dictionary {len(dictionary.labels)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Probabilities(net.eval()),
            (torch.zeros(1, 3, 48, 320),),
            str(path),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: BATCH, 3: WIDTH}, OUTPUT: {0: BATCH, 1: "steps"}},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = CHARACTER_KEY, dictionary.metadata
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def engine_argmax(path: Path, engine: str, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per-crop class argmax (steps,) of the exported model on `engine`, batched as the
    recogniser batches (the project's own engine wrappers)."""
    from ..config import EngineSettings
    from ..engines import open_engine, run_single

    out: list[np.ndarray] = [np.zeros(0)] * len(crops)
    with_engine = open_engine(path, EngineSettings(engine=engine), shapes="dynamic")
    try:
        for part in by_width(crops, 32):
            probs = run_single(with_engine, model_input([crops[i] for i in part]))
            for i, row in zip(part, probs):
                out[int(i)] = row.argmax(axis=1)
    finally:
        with_engine.close()
    return out


def check_export(
    path: Path, torch_probs: Sequence[np.ndarray], crops: Sequence[np.ndarray]
) -> dict[str, dict[str, int]]:
    """Steps whose argmax differs from torch's, per engine; ModelError unless none do."""
    expected = [p.argmax(axis=1) for p in torch_probs]
    report = {}
    for engine in ENGINES:
        got = engine_argmax(path, engine, crops)
        steps = sum(len(e) for e in expected)
        differ = sum(
            int((e != g).sum()) if e.shape == g.shape else len(e) for e, g in zip(expected, got)
        )
        report[engine] = {"crops": len(crops), "steps": steps, "argmax_differs": differ}
        if differ:
            raise ModelError(
                f"the exported model disagrees with the trained one on {engine}: "
                f"{differ} of {steps} val steps pick another class; nothing was written"
            )
    return report
