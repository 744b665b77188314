"""ONNX Runtime execution providers from ORT_PROVIDERS, and the CPU-fallback check."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .trt_profile import ShapeProfile

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"

Provider = tuple[str, dict[str, Any]]


def _shapes(input_name: str, shape: Sequence[int]) -> str:
    return f"{input_name}:" + "x".join(str(v) for v in shape)


def tensorrt_options(
    cache_dir: Path,
    profile: ShapeProfile | None,
    workspace_mb: int,
    fp16: bool,
    input_name: str = "x",
) -> dict[str, Any]:
    """TensorRT EP options: engine and timing caches on disk, the explicit shape profile."""
    folder = cache_dir / "ort-trt"
    options: dict[str, Any] = {
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(folder),
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(folder),
        "trt_fp16_enable": fp16,
        "trt_max_workspace_size": workspace_mb << 20,
    }
    if profile is not None:
        options.update(
            {
                "trt_profile_min_shapes": _shapes(input_name, profile.min),
                "trt_profile_opt_shapes": _shapes(input_name, profile.opt),
                "trt_profile_max_shapes": _shapes(input_name, profile.max),
            }
        )
    return options


def build_providers(
    names: str,
    cache_dir: Path,
    profile: ShapeProfile | None,
    workspace_mb: int,
    fp16: bool,
    input_name: str = "x",
) -> list[Provider]:
    """The provider list for a session, in preference order, always ending with CPU.

    `names` is the normalised ORT_PROVIDERS value (e.g. "tensorrt,cuda").
    """
    providers: list[Provider] = []
    for name in names.split(","):
        if name == "tensorrt":
            providers.append(
                (TENSORRT, tensorrt_options(cache_dir, profile, workspace_mb, fp16, input_name))
            )
        elif name == "cuda":
            providers.append((CUDA, {"device_id": 0}))
        elif name == "cpu":
            providers.append((CPU, {}))
        else:
            raise ValueError(f"unknown ONNX Runtime provider {name!r}")
    if providers[-1][0] != CPU:
        providers = [p for p in providers if p[0] != CPU] + [(CPU, {})]
    return providers


def offered(requested: Sequence[Provider], available: Sequence[str]) -> list[Provider]:
    """The requested providers this ONNX Runtime build has (CPU always): the session is
    given only these, so a CPU-only build adds no warning of its own to `warn_fallback`'s."""
    kept = [p for p in requested if p[0] in available]
    return kept if any(name == CPU for name, _ in kept) else [*kept, (CPU, {})]


def missing_providers(requested: Sequence[Provider], active: Sequence[str]) -> list[str]:
    """The requested GPU providers the session did not get (ONNX Runtime fell back)."""
    return [name for name, _ in requested if name != CPU and name not in active]


def warn_fallback(missing: Sequence[str], active: Sequence[str], available: Sequence[str]) -> None:
    """Say loudly that the model runs on a slower provider than asked for."""
    if not missing:
        return
    log.warning(
        "!!! ONNX Runtime could not use %s: running on %s instead (this build "
        "offers %s). Install onnxruntime-gpu with a matching CUDA/TensorRT, or set "
        "ORT_PROVIDERS=cpu to silence this. !!!",
        ", ".join(missing),
        ", ".join(active),
        ", ".join(available),
    )
