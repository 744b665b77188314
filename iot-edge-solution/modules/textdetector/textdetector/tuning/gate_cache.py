"""PRECISION=auto's verdict, cached: the gate runs once per model, CPU and OpenVINO build.

The record keeps the choice and every precision's gate summary under a key made of what
the verdict depends on: the sha256 of the detection model and of the evaluation video,
the input cap, the candidates, the CPU (as OpenVINO names it), the OpenVINO and NNCF
versions and the quantization recipe. Any change, or a damaged file, runs the gate again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..engines.openvino_engine import import_openvino
from ..models import sha256_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """The precision the gate chose and each precision's summary line."""

    chosen: str
    summaries: tuple[str, ...]


def cpu_name() -> str:
    """The CPU as OpenVINO reports it (model name), '' when it cannot say."""
    try:
        return str(import_openvino().Core().get_property("CPU", "FULL_DEVICE_NAME"))
    except Exception:  # the name only sharpens the key; the versions still guard it
        return ""


def gate_key(
    model: Path, video: Path, limit_side_len: object, candidates: Sequence[str], recognition: bool
) -> dict[str, str]:
    """What a cached verdict must match to be reused."""
    from .quantize import RECIPE, _versions

    return {
        "model_sha256": sha256_of(model),
        "video_sha256": sha256_of(video),
        "limit_side_len": str(limit_side_len),
        "candidates": ",".join(candidates),
        "recognition": str(recognition),
        "cpu": cpu_name(),
        "recipe": RECIPE,
        **_versions(),
    }


def load(path: Path, key: dict[str, str]) -> Verdict | None:
    """The cached verdict for `key`, or None (absent, damaged or made for another key)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("key") != key:
            return None
        return Verdict(str(record["chosen"]), tuple(str(s) for s in record["summaries"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def last_chosen(path: Path) -> str | None:
    """The precision the last gate run here chose, whatever its key (for reports); None
    when no readable verdict is cached."""
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["chosen"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(path: Path, key: dict[str, str], verdict: Verdict) -> None:
    """Write the verdict (best effort: a read-only folder only costs a re-run)."""
    record = {"key": key, "chosen": verdict.chosen, "summaries": list(verdict.summaries)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    except OSError as exc:
        log.warning("cannot cache the precision gate's verdict in %s: %s", path, exc)
