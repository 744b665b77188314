"""JSON Lines sink: one JSON object per frame, to a file or stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError
from ..results import FrameResult


class JsonLinesSink:
    """Writes `FrameResult.to_dict()` as one line per frame; '-' means stdout."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._stream: TextIO | None = None

    def __enter__(self) -> JsonLinesSink:
        if self.target == "-":
            self._stream = sys.stdout
            return self
        path = Path(self.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write JSON_OUTPUT {path}: {exc.strerror}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
        self._stream = None

    def write(self, result: FrameResult) -> None:
        assert self._stream is not None, "sink used outside its context"
        self._stream.write(json.dumps(result.to_dict(), separators=(",", ":")) + "\n")
        self._stream.flush()
