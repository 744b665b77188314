"""Fuzz targets (Hypothesis) for the detection labels train-det reads (a det_labels.txt
line from any exporter) and for a fine-tuned folder's manifest.json, which DET_MODEL_DIR,
REC_MODEL_DIR and the Triton export read: any text gives a sample or one readable
DatasetError naming the line, and any manifest a base name or none, never another
exception. `make fuzz` runs them with FUZZ_EXAMPLES each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

from textdetector.models import fine_tuned_base
from textdetector.training.dataset import DatasetError
from textdetector.training.det_dataset import parse_det_line

NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
)
POINTS = st.one_of(
    st.lists(st.lists(NUMBERS, min_size=0, max_size=3), max_size=6),
    st.lists(st.tuples(st.integers(-5000, 5000), st.integers(-5000, 5000)), max_size=6),
    NUMBERS,
)
REGION = st.one_of(
    st.fixed_dictionaries(
        {"transcription": st.one_of(st.text(max_size=8), st.just("###"), NUMBERS), "points": POINTS}
    ),
    st.dictionaries(st.text(max_size=12), NUMBERS, max_size=3),
    NUMBERS,
)
PATHS = st.one_of(
    st.sampled_from(["images/a.jpg", "../a.jpg", "/etc/passwd", "", "a\\..\\b.png"]),
    st.text(max_size=20).filter(lambda t: "\t" not in t),
)


def regions_text(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return json.dumps(draw(st.lists(REGION, max_size=4)), allow_nan=True)
    if kind == 1:
        return json.dumps(draw(st.one_of(REGION, st.text(max_size=10))), allow_nan=True)
    return draw(st.text(max_size=40))


@st.composite
def lines(draw: st.DrawFn) -> str:
    tab = draw(st.sampled_from(["\t", "", "\t\t"]))
    return draw(PATHS) + tab + regions_text(draw) + draw(st.sampled_from(["", "\n", "\r\n"]))


@fuzz(400)
@given(lines())
def test_fuzz_det_label_lines(line: str) -> None:
    where = "det_labels.txt line 9"
    try:
        sample = parse_det_line(line, Path("/data"), where)
    except DatasetError as exc:
        assert where in str(exc) and "\n" not in str(exc)
        return
    assert sample.path.is_relative_to(Path("/data"))
    assert len(sample.polygons) == len(sample.ignore)
    for polygon in sample.polygons:
        assert polygon.dtype == np.float32 and polygon.ndim == 2 and polygon.shape[1] == 2
        assert polygon.shape[0] >= 3 and np.isfinite(polygon).all()


@fuzz(200)
@given(st.one_of(st.text(max_size=60), st.builds(json.dumps, REGION)))
def test_fuzz_fine_tuned_manifest(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("m")
    (folder / "model.onnx").write_bytes(b"")
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    base = fine_tuned_base(folder / "model.onnx")
    assert isinstance(base, str)
