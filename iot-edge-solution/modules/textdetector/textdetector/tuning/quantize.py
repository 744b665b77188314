"""INT8 post-training quantization with NNCF, cached beside the models with checksums.

The quantized model is an OpenVINO IR (`<stem>.int8.xml` + `.bin`) with a JSON sidecar
recording the sha256 of the source model and of both IR files, and the OpenVINO and
NNCF versions. `quantized_model` re-uses the cached IR while every checksum and version
matches, and quantizes again otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..detector.policy import DetPolicy, blob_for
from ..engines.openvino_engine import import_openvino
from ..errors import EngineUnavailableError, ModelError
from ..models import sha256_of, verify_model
from .samples import CALIBRATION_FRAMES, calibration_frames

log = logging.getLogger(__name__)

SUFFIX = ".int8"
# Bumped whenever the quantization settings change, so cached models are redone.
RECIPE = "nncf-det-overflow-fix-rec-transformer-1"
NNCF_HINT = "NNCF is not installed: pip install nncf (pinned in requirements-dev.txt)"


def int8_paths(model_path: Path, cache_dir: Path) -> tuple[Path, Path, Path]:
    """(IR .xml, IR .bin, sidecar .json) of the INT8 model made from `model_path`."""
    stem = str(cache_dir / (model_path.stem + SUFFIX))
    return Path(stem + ".xml"), Path(stem + ".bin"), Path(stem + ".json")


def _versions() -> dict[str, str]:
    ov = import_openvino()
    try:
        import nncf

        nncf_version = nncf.__version__
    except ImportError:
        nncf_version = ""
    return {"openvino": ov.get_version(), "nncf": nncf_version}


def cached_int8(model_path: Path, cache_dir: Path) -> Path | None:
    """The cached INT8 IR for `model_path` if its sidecar's checksums all match, else None."""
    xml, binary, sidecar = int8_paths(model_path, cache_dir)
    if not (xml.is_file() and binary.is_file() and sidecar.is_file()):
        return None
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected = {
        "source_sha256": sha256_of(model_path),
        "xml_sha256": sha256_of(xml),
        "bin_sha256": sha256_of(binary),
        "openvino": _versions()["openvino"],
        "recipe": RECIPE,
    }
    if any(record.get(key) != value for key, value in expected.items()):
        log.info("cached INT8 model %s is stale or altered: quantizing again", xml.name)
        return None
    return xml


def det_calibration_blobs(
    frames: Sequence[np.ndarray], limit_side_len: int | DetPolicy = 960
) -> list[np.ndarray]:
    """Detector input blobs of `frames`, pre-processed exactly as at run time."""
    return [blob_for(f, limit_side_len) for f in frames]


def quantize(
    model_path: Path, blobs: Sequence[np.ndarray], out_xml: Path, transformer: bool = False
) -> Path:
    """Quantize `model_path` to INT8 with NNCF on `blobs` (input 0) and save the IR.

    CNN (the detector): overflow fix on every layer, since CPUs without VNNI (AVX2 only)
    saturate INT8 sums otherwise; measured here it lifts the detector over the gate.
    `transformer` (the SVTR recogniser): NNCF's transformer scheme, which keeps the
    recogniser within the gate where the CNN scheme loses ~10 points of line accuracy.
    """
    ov = import_openvino()
    try:
        import nncf
        from nncf.quantization.advanced_parameters import (
            AdvancedQuantizationParameters,
            OverflowFix,
        )
    except ImportError:
        raise EngineUnavailableError(NNCF_HINT) from None
    if not blobs:
        raise ModelError("no calibration frames: is the demo video in local_data/?")
    if transformer:
        options = {"model_type": nncf.ModelType.TRANSFORMER}
    else:
        options = {
            "preset": nncf.QuantizationPreset.MIXED,
            "advanced_parameters": AdvancedQuantizationParameters(overflow_fix=OverflowFix.ENABLE),
        }
    model = ov.Core().read_model(str(model_path))
    quantized = nncf.quantize(model, nncf.Dataset(list(blobs)), subset_size=len(blobs), **options)
    out_xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, str(out_xml), compress_to_fp16=False)
    return out_xml


def write_sidecar(model_path: Path, xml: Path, calibration: str) -> None:
    """Record the checksums and versions that make the cached IR re-usable."""
    _, binary, sidecar = int8_paths(model_path, xml.parent)
    record = {
        "source": model_path.name,
        "source_sha256": sha256_of(model_path),
        "xml_sha256": sha256_of(xml),
        "bin_sha256": sha256_of(binary),
        "calibration": calibration,
        "recipe": RECIPE,
        **_versions(),
    }
    sidecar.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def cached_or_quantized(
    model_path: Path,
    cache_dir: Path,
    calibration: Callable[[], list[np.ndarray]],
    description: str,
    force: bool = False,
    transformer: bool = False,
) -> Path:
    """The cached INT8 IR of `model_path` if valid, else quantized on `calibration()`."""
    verify_model(model_path)
    xml, _, _ = int8_paths(model_path, cache_dir)
    if not force:
        cached = cached_int8(model_path, cache_dir)
        if cached is not None:
            log.info("using cached INT8 model %s (checksums match)", cached.name)
            return cached
    blobs = calibration()
    log.info("quantizing %s to INT8 on %d calibration inputs", model_path.name, len(blobs))
    quantize(model_path, blobs, xml, transformer)
    write_sidecar(model_path, xml, f"{description}: {len(blobs)} inputs")
    return xml


def need_file(path: Path, what: str) -> None:
    """Raise `ModelError` unless the calibration input `path` exists."""
    if not path.is_file():
        raise ModelError(f"{what} missing for INT8 calibration: {path}; run `make setup`")


def quantized_model(
    model_path: Path,
    cache_dir: Path,
    video: Path,
    limit_side_len: int | DetPolicy = 960,
    force: bool = False,
) -> Path:
    """The INT8 detection model, calibrated on demo-video frames and rendered pages."""
    need_file(video, "demo video")
    return cached_or_quantized(
        model_path,
        cache_dir,
        lambda: det_calibration_blobs(calibration_frames(video), limit_side_len),
        f"{video.name} frames and rendered pages",
        force,
    )


def quantized_rec_model(
    model_path: Path, cache_dir: Path, video: Path, truth: Path, force: bool = False
) -> Path:
    """The INT8 recognition model, calibrated on the demo video's ground-truth lines."""
    from .rec_check import truth_lines

    need_file(video, "demo video")
    need_file(truth, "demo video ground truth")
    return cached_or_quantized(
        model_path,
        cache_dir,
        lambda: [line.blob for line in truth_lines(video, truth, CALIBRATION_FRAMES)],
        f"{truth.name} lines",
        force,
        transformer=True,
    )
