"""`train-det` for real: the shipped PP-OCRv6 detector fine-tuned on a few rendered
labelled frames (small text over real photos; DejaVu and fonts-dseg), exported, checked
against the trained network on ONNX Runtime, gated on its val images and used through
DET_MODEL_DIR; a run that does not beat the shipped model writes nothing. Needs the
train extra (torch: scripts/test-deps.d/80-train.sh) and fonts-dseg (70-fonts-dseg.sh)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import onnx
import pytest

from testing.components import need
from textdetector.cli import main
from tools import make_det_set

MODULE_DIR = Path(__file__).resolve().parents[2]
BASE = MODULE_DIR / "local_data" / "PP-OCRv6_det_small.onnx"
QUICK = ["--side", "320", "--batch-size", "2"]


def need_training() -> None:
    need(
        importlib.util.find_spec("torch") is not None,
        "torch missing: the train extra (scripts/test-deps.d/80-train.sh)",
    )
    need(
        all(Path(f).is_file() for f in make_det_set.FONTS),
        "fonts-dseg or fonts-dejavu missing (scripts/test-deps.d/70-fonts-dseg.sh)",
    )


@pytest.fixture(scope="module")
def det_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("det") / "data"
    need_training()
    make_det_set.render(data, count=12)  # tiny labels: the stock model misses many
    return data


def train(data: Path, out: Path, steps: str, lr: str) -> int:
    return main(
        ["train-det", "--data", str(data), "--out", str(out), "--steps", steps, "--lr", lr, *QUICK]
    )


def interface(path: Path) -> list[tuple[str, int]]:
    graph = onnx.load(str(path)).graph
    return [(v.name, len(v.type.tensor_type.shape.dim)) for v in [*graph.input, *graph.output]]


@pytest.mark.slow
def test_fine_tuned_detector_is_exported_gated_and_used(
    det_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    code = train(det_data, out, "48", "0.0003")
    assert code == 0, capsys.readouterr().err
    assert "val regions found" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_model"] == BASE.name and manifest["format"] == "textdetector-det"
    assert manifest["base_difference"] < 1e-4  # torch == ONNX Runtime before training
    assert manifest["export_difference"] < 1e-3
    figures = manifest["figures"]
    assert figures["steps"] == 48 and figures["train_images"] + figures["val_images"] == 12
    stock, tuned = figures["val_stock"], figures["val_tuned"]
    assert tuned["labelled"] == stock["labelled"] > 0
    assert f1(tuned) > f1(stock)  # the gate let it through
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no leftovers
    assert interface(out / "model.onnx") == interface(BASE)
    # DET_MODEL_DIR: the module's detector runs the model with the base's policy
    from textdetector.config import DetectorSettings, EngineSettings, load
    from textdetector.detector.detector import TextDetector

    environ = {"DET_MODEL_DIR": str(out), "ENGINE": "onnxruntime"}
    engine = load(EngineSettings, environ)
    assert engine.model_path == out / "model.onnx"
    with TextDetector.open(engine, load(DetectorSettings, environ)) as detector:
        assert detector.policy.resize == "min" and detector.policy.norm[0] == (0.5, 0.5, 0.5)
        image = cv2.imread(str(det_data / "detection" / "images" / "000.jpg"))
        found, _ = detector.detect(image)
    assert len(found.boxes) > 0


def f1(score: dict) -> float:
    recall = score["matched"] / score["labelled"]
    precision = score["matched"] / score["found"] if score["found"] else 0.0
    return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


@pytest.mark.slow
def test_a_model_no_better_than_the_shipped_one_is_refused(
    det_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A learning rate too small to move a weight: the same F1, so the gate refuses."""
    out = tmp_path / "model"
    code = train(det_data, out, "2", "1e-12")
    err = capsys.readouterr().err
    assert code == 1 and "no better" in err and "nothing written" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_options_and_data_are_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need_training()
    (tmp_path / "data").mkdir()
    for args, says in (
        (["--side", "300"], "multiple of 32"),
        (["--steps", "0"], "--steps must be at least 1"),
        ([], "no detection/det_labels.txt"),
    ):
        code = main(
            ["train-det", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m"), *args]
        )
        err = capsys.readouterr().err
        assert code == 2 and says in err and "Traceback" not in err, err
