"""Detection policies: how a detection model wants its input resized, normalised and its
probability map turned into boxes.

`PADDLE_V4` is PaddleOCR's `predict_det` for PP-OCRv4 (the parity tests hold it to that);
`V6` is the default, chosen by measurement on the real-scene tuning split
(`tools/eval_real.py`). The DET_* settings override single values of either.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import geometry
from ..models import FOLDER_MANIFEST, FOLDER_MODEL, fine_tuned_base
from ..results import Detections
from .postprocess import DBParams
from .preprocess import HALF, IMAGENET, input_size, to_blob


@dataclass(frozen=True)
class DetPolicy:
    """Resize rule, normalisation and DB thresholds for one detection model."""

    resize: str  # "max": cap the long side; "min": raise the short side, cap the long
    side: int  # the limit `resize` applies
    max_side: int  # "min" only: cap on the long side (0 = none)
    norm: tuple  # (mean, std) per channel
    thresh: float = 0.3
    box_thresh: float = 0.6
    unclip_ratio: float = 1.5
    dilation: bool = False
    max_candidates: int = 1000
    native_from: float = 0.0  # also detect at the image's own size when upscaled this much
    tile: int = 0  # stills shrunk by `tile_from` or more: also detect in tiles this big
    tile_from: float = 1.2
    zoom: int = 0  # stills the policy raises: also detect with the short side this long
    # (DET_ZOOM; off in both policies: docs/reading.md has why)
    assist: str = "off"  # small stills: a second model's boxes added where none was found
    # (DET_ASSIST, a name in ASSISTS)

    def native_pass(self, height: int, width: int) -> tuple[int, int] | None:
        """The input size of the extra pass at the image's own size, or None when the
        policy does not upscale this image by at least `native_from`."""
        if not self.native_from or self.resize != "min":
            return None
        if self.side < self.native_from * min(height, width):
            return None
        return input_size(height, width, max(height, width), "max")

    def tiled(self, height: int, width: int) -> bool:
        """Whether a still image this big also gets the tile pass (`tiles.py`): the
        whole-image pass shrinks it by `tile_from` or more and tiles are on."""
        if not self.tile or max(height, width) <= self.tile:
            return False
        in_height, _ = self.input_size(height, width)
        return height >= self.tile_from * in_height

    def zoom_pass(self, height: int, width: int) -> tuple[int, int] | None:
        """The input size of the zoom pass of a still image the policy raises (its short
        side below `side`): the short side raised to `zoom`, the long side capped at
        ZOOM_MAX_SIDE. None when zoom is off, the image is not raised, or the zoomed input
        would be no larger than the policy's own."""
        if not self.zoom or self.resize != "min" or min(height, width) >= self.side:
            return None
        size = input_size(height, width, self.zoom, "min", ZOOM_MAX_SIDE)
        base = self.input_size(height, width)
        return size if size[0] * size[1] > base[0] * base[1] else None

    def assist_pass(self, height: int, width: int) -> str:
        """The DET_ASSIST model that also detects a still this big ("off" for none): small
        stills only (short side under ASSIST_BELOW), where PP-OCRv6 misses most."""
        return self.assist if min(height, width) < ASSIST_BELOW else "off"

    def for_frames(self, cap: int) -> DetPolicy:
        """This policy for video frames: the input's long side capped at `cap` pixels
        (DET_FRAME_MAX_SIDE_LEN; 0 = as stills). Frames get one pass, so the still
        passes' settings do not matter there."""
        if not cap:
            return self
        if self.resize == "max":
            return replace(self, side=min(self.side, cap))
        return replace(self, max_side=min(self.max_side, cap) if self.max_side else cap)

    def input_size(self, height: int, width: int) -> tuple[int, int]:
        """The model input (height, width) for a source image of this size."""
        return input_size(height, width, self.side, self.resize, self.max_side)

    @property
    def params(self) -> DBParams:
        return DBParams(
            self.thresh, self.box_thresh, self.unclip_ratio, self.max_candidates, self.dilation
        )

    @property
    def largest_side(self) -> int:
        """The largest input side this policy can produce (a TensorRT profile's bound)."""
        top = self.side if self.resize == "max" else (self.max_side or 4096)
        if self.zoom and self.resize == "min":  # DET_ZOOM on: its pass goes up to this
            top = max(top, ZOOM_MAX_SIDE)
        return max(int(round(top / 32) * 32), 32)


ZOOM_MAX_SIDE = 2400  # px: the zoom pass's cap on the long side
ASSIST_BELOW = 614  # px: stills with a shorter short side get the DET_ASSIST pass (736 / 1.2)
PADDLE_V4 = DetPolicy("max", 960, 0, IMAGENET)
V6 = DetPolicy(
    "min",
    736,
    1600,
    HALF,
    box_thresh=0.4,
    unclip_ratio=1.6,
    native_from=2.0,
    tile=960,
    assist="ppocrv4",
)
# DET_ASSIST models: a DET_MODEL name (models.DET_MODELS: its file) -> the policy its
# pass runs with. PP-OCRv4 as RapidOCR runs its detectors (short side raised to 736,
# box score 0.5, unclip 1.6; the long side capped as V6 caps it): on the real-scene
# tuning split it finds lines PP-OCRv6 misses in small images, codes and angled signs.
ASSISTS = {"ppocrv4": DetPolicy("min", 736, 1600, IMAGENET, box_thresh=0.5, unclip_ratio=1.6)}


def as_policy(resize: int | DetPolicy) -> DetPolicy:
    """A policy from a policy or a bare limit (PaddleOCR's long-side cap, ImageNet norm)."""
    if isinstance(resize, DetPolicy):
        return resize
    return DetPolicy("max", int(resize), 0, IMAGENET)


def blob_for(image: np.ndarray, resize: int | DetPolicy) -> np.ndarray:
    """The 1x3xHxW model input of a BGR image under a policy (or a bare long-side limit)."""
    policy = as_policy(resize)
    return to_blob(image, policy.input_size(image.shape[0], image.shape[1]), norm=policy.norm)


POLICIES = {"ch_PP-OCRv4_det_infer.onnx": PADDLE_V4, "PP-OCRv6_det_small.onnx": V6}
DET_DIR_MODEL, DET_MANIFEST = FOLDER_MODEL, FOLDER_MANIFEST  # a train-det folder's files
OVERRIDES = {
    "det_resize": "resize",
    "limit_side_len": "side",
    "max_side_len": "max_side",
    "det_thresh": "thresh",
    "box_thresh": "box_thresh",
    "unclip_ratio": "unclip_ratio",
    "det_dilation": "dilation",
    "max_candidates": "max_candidates",
    "det_tile": "tile",
    "det_zoom": "zoom",
    "det_assist": "assist",
}


def policy_name(model_path: Path | None) -> str:
    """The model file whose policy `model_path` takes: its own name, or for the model of
    a `train-det` folder the shipped model it was fine-tuned from (its manifest's)."""
    if model_path is None:
        return ""
    return fine_tuned_base(model_path) or model_path.name


def policy_for(model_path: Path | None, settings: object) -> DetPolicy:
    """The pinned model's policy (PP-OCRv4's for other files), with the settings' values
    that are set (DET_*) put over it."""
    base = POLICIES.get(policy_name(model_path), PADDLE_V4)
    values = {
        name: getattr(settings, field)
        for field, name in OVERRIDES.items()
        if getattr(settings, field, None) is not None
    }
    return replace(base, **values)


MERGE_OVERLAP = 0.5  # share of the smaller box covered: the two passes saw one region


def merge_passes(upscaled: Detections, native: Detections) -> Detections:
    """The boxes of both passes; where boxes of the two overlap, the higher-scoring."""
    if not len(native):
        return upscaled
    if not len(upscaled):
        return native
    boxes = np.concatenate([upscaled.boxes, native.boxes])
    scores = np.concatenate([upscaled.scores, native.scores])
    bounds = geometry.xyxy(boxes)
    cover = geometry.cover_matrix(bounds, bounds)
    kept: list[int] = []
    for i in np.argsort(-scores, kind="stable").tolist():
        if all(cover[i, j] < MERGE_OVERLAP for j in kept):
            kept.append(i)
    kept.sort()
    return Detections(boxes[kept], scores[kept], upscaled.image_size)
