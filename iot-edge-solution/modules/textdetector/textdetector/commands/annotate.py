"""`detect --annotate DIR`: each input image written again with its detections drawn."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..drawing import annotate
from ..errors import ConfigError
from ..results import Detections

JPEG_QUALITY = 85  # annotated photos stay about the size of their input


class Annotator:
    """Writes annotated copies into one folder, each under its input's file name (a name
    met twice gets `-2`, `-3`, ... before its suffix)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._used: set[str] = set()

    @classmethod
    def checked(cls, folder: str, inputs: list[str]) -> Annotator:
        """The annotator for `folder`, made if missing; ConfigError (one line, before the
        models load) if it cannot be, or if it holds an input (that would be overwritten)."""
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot write annotated images to {path}: {exc.strerror}") from None
        if not path.is_dir():
            raise ConfigError(f"--annotate {path} is not a folder")
        target = path.resolve()
        for name in inputs:
            given = Path(name).resolve()
            if target == (given if given.is_dir() else given.parent):
                raise ConfigError(
                    f"--annotate {path} holds the input {name}: its images would be "
                    "overwritten; name another folder"
                )
        return cls(path)

    def write(self, source: Path, image: np.ndarray, detections: Detections) -> Path:
        """Write `image` annotated under `source`'s name; the path written."""
        out = self.folder / self._name(source)
        if out.resolve() == source.resolve():
            raise ConfigError(f"--annotate would overwrite the input {source}")
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        ok, data = cv2.imencode(out.suffix, annotate(image, detections), params)
        if not ok:
            raise ConfigError(f"cannot encode the annotated {source.name} as {out.suffix}")
        try:
            data.tofile(str(out))
        except OSError as exc:
            raise ConfigError(f"cannot write {out}: {exc.strerror}") from None
        return out

    def _name(self, source: Path) -> str:
        name, n = source.name, 1
        while name.lower() in self._used:
            n += 1
            name = f"{source.stem}-{n}{source.suffix}"
        self._used.add(name.lower())
        return name
