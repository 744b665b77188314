"""The gates' verdict, kept beside the model it judged (`<MODEL_DIR>/gate.json`).

`python -m textdetector.training.gate` writes it; a running module switches to a
fine-tuned recogniser or detector through its twin (`recModelDir`, `detModelDir`) only
when the record says every gate was met for exactly this model file (its sha256), so a
model retrained or edited after its gates must pass them again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config import REC_DIR_MODEL
from ..models import sha256_of

GATE_FILE = "gate.json"


def write(model_dir: Path, figures: Iterable[Mapping[str, Any]]) -> Path:
    """Record the figures and whether every one was met, for this model file."""
    rows = [dict(f) for f in figures]
    record = {
        "model_sha256": sha256_of(model_dir / REC_DIR_MODEL),
        "passed": bool(rows) and all(row.get("met") for row in rows),
        "figures": rows,
    }
    path = model_dir / GATE_FILE
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def refusal(model_dir: Path) -> str:
    """Why `model_dir` may not be used yet; "" when it passed its gates as it is."""
    model = model_dir / REC_DIR_MODEL
    if not model.is_file():
        return f"{model_dir}: no {REC_DIR_MODEL} (not a train-rec or train-det output)"
    try:
        record = json.loads((model_dir / GATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{model_dir}: no {GATE_FILE}; run its gates first (textdetector.training.gate)"
    except (OSError, ValueError) as exc:
        return f"{model_dir}/{GATE_FILE} is not readable ({exc})"
    if not isinstance(record, dict) or record.get("passed") is not True:
        return f"{model_dir}: its gates were not all met ({GATE_FILE})"
    if record.get("model_sha256") != sha256_of(model):
        return f"{model_dir}: {REC_DIR_MODEL} changed after its gates ran; run them again"
    return ""
