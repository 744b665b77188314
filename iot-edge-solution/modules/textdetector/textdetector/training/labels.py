"""The recogniser's dictionary as training sees it: label text <-> class indices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .dataset import Dataset, DatasetError, unknown_characters


@dataclass(frozen=True)
class Dictionary:
    """Class labels in model order: blank (0), the `character` symbols, then a space."""

    labels: tuple[str, ...]

    @classmethod
    def of_symbols(cls, symbols: Sequence[str]) -> Dictionary:
        return cls(("", *symbols, " "))

    @property
    def symbols(self) -> tuple[str, ...]:
        """The `character` metadata entries (without blank and space)."""
        return self.labels[1:-1]

    @property
    def metadata(self) -> str:
        return "\n".join(self.symbols)

    def index(self) -> dict[str, int]:
        return {symbol: i for i, symbol in enumerate(self.labels) if i}

    def encode(self, text: str) -> list[int]:
        """Class indices of `text` (every character must be in the dictionary)."""
        index = self.index()
        return [index[c] for c in text]

    def grown(self, added: Sequence[str]) -> Dictionary:
        """The dictionary with `added` symbols appended before the space."""
        return Dictionary.of_symbols([*self.symbols, *added])


def describe(char: str) -> str:
    """A character as a reader can identify it: 'é' (U+00E9)."""
    return f"{char!r} (U+{ord(char):04X})"


def needed_characters(dataset: Dataset, dictionary: Dictionary, add: bool) -> list[str]:
    """Characters the labels use that the dictionary lacks, sorted; DatasetError naming
    the first (and where it is used) unless `add` lets the classifier grow for them."""
    missing = unknown_characters(dataset, dictionary.symbols)
    if missing and not add:
        char, sample = next(iter(missing.items()))
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DatasetError(
            f"label {sample.text!r} of {sample.path} uses {describe(char)}{more}, which the "
            "recognition model's dictionary lacks: fix the label or pass --add-chars"
        )
    return sorted(missing)
