"""The recognisers `train-rec` can rebuild as torch networks (no torch needed here)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError

# The shipped recogniser file's stem -> its entry in rapidocr's arch_config.yaml.
ARCHITECTURES = {"PP-OCRv6_rec_small": "PP-OCRv6_rec_small"}


def architecture_of(model_path: Path) -> str:
    """The network definition of a shipped recogniser file, else ModelError."""
    name = ARCHITECTURES.get(model_path.stem)
    if name is None:
        raise ModelError(
            f"train-rec can fine-tune {', '.join(ARCHITECTURES)} (MODEL_SET=ppocrv6); "
            f"not {model_path.name}"
        )
    return name
