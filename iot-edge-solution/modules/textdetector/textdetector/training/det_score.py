"""How well a detection model finds labelled text, through the module's own detector
(its policy, one pass per image): regions matched one to one by DetEval's area rule
(Wolf and Jolion, 2006: a found box covers at least 80 % of a labelled region, and at
least 40 % of the box is that region), which a box drawn a few pixels wider or
narrower than the labeller's does not fail as IoU >= 0.5 does on small text. Found
boxes lying mostly on "do not care" regions are not counted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .det_dataset import DetSample, read_image

AREA_RECALL = 0.8  # share of the labelled region a found box must cover
AREA_PRECISION = 0.4  # share of the found box that must be the labelled region
DONT_CARE = 0.5  # a found region this much inside a "do not care" one is not counted


@dataclass(frozen=True)
class Score:
    """Regions labelled, found and matched; recall, precision and their F1."""

    labelled: int
    found: int
    matched: int

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else 0.0

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 0.0

    @property
    def f1(self) -> float:
        both = self.recall + self.precision
        return 2 * self.recall * self.precision / both if both else 0.0


def _polygons(points: list[np.ndarray]) -> list:
    from shapely.geometry import Polygon  # type: ignore[import-untyped]  # no stubs

    return [Polygon(p).buffer(0) for p in points]


def score_image(found: np.ndarray, sample: DetSample) -> Score:
    """Greedy one-to-one matching of `found` (N, 4, 2) against the sample's regions."""
    truth = _polygons(sample.text_regions)
    cares = _polygons([p for p, skip in zip(sample.polygons, sample.ignore) if skip])
    boxes = [
        b
        for b in _polygons(list(found))
        if not any(b.area and b.intersection(c).area / b.area > DONT_CARE for c in cares)
    ]
    pairs = sorted(
        (
            (share, i, j)
            for i, b in enumerate(boxes)
            for j, t in enumerate(truth)
            if (share := _covers(b, t)) > 0
        ),
        reverse=True,
    )
    used_b: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_b and j not in used_t:
            used_b.add(i)
            used_t.add(j)
    return Score(len(truth), len(boxes), len(used_t))


def _covers(box, region) -> float:
    """How much of `region` `box` covers when DetEval's rule holds, else 0."""
    if not box.area or not region.area:
        return 0.0
    inter = box.intersection(region).area
    if inter / region.area < AREA_RECALL or inter / box.area < AREA_PRECISION:
        return 0.0
    return inter / region.area


def score_model(model_path: Path, samples: list[DetSample]) -> Score:
    """The summed score of `model_path` over `samples`, detected as the module detects
    a video frame (one pass; ONNX Runtime; the model's policy)."""
    from ..config import DetectorSettings, EngineSettings, load
    from ..detector.detector import TextDetector

    environ = {"MODEL_PATH": str(model_path), "ENGINE": "onnxruntime", "DET_ASSIST": "off"}
    engine_settings = load(EngineSettings, environ)
    settings = load(DetectorSettings, environ)
    total = Score(0, 0, 0)
    with TextDetector.open(engine_settings, settings) as detector:
        for sample in samples:
            boxes = detector.submit([read_image(sample)]).result()[0][0].boxes
            one = score_image(boxes, sample)
            total = Score(
                total.labelled + one.labelled,
                total.found + one.found,
                total.matched + one.matched,
            )
    return total
