"""The models `train-rec` and `train-det` can rebuild as torch networks (no torch needed
here)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError

# The shipped recogniser's and detector's file stems -> their entry in rapidocr's
# arch_config.yaml.
ARCHITECTURES = {"PP-OCRv6_rec_small": "PP-OCRv6_rec_small"}
DET_ARCHITECTURES = {"PP-OCRv6_det_small": "PP-OCRv6_det_small"}


def architecture_of(
    model_path: Path, table: dict[str, str] = ARCHITECTURES, what: str = "train-rec"
) -> str:
    """The network definition of a shipped model file, else ModelError."""
    name = table.get(model_path.stem)
    if name is None:
        setting = "MODEL_SET" if table is ARCHITECTURES else "DET_MODEL"
        raise ModelError(
            f"{what} can fine-tune {', '.join(table)} ({setting}=ppocrv6); not {model_path.name}"
        )
    return name
