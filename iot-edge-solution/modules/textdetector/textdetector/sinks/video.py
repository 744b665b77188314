"""SAVE_VIDEO: each source's frames, annotated (`textdetector.drawing`), written as a video.

OpenCV's own FFmpeg writes MPEG-4 Part 2 (`mp4v`; the wheel has no H.264 encoder), so the
module needs nothing more. One file per source: SAVE_VIDEO itself for one source,
`NAME-<n>.EXT` (n = the source's place in CAMERA_PATH, from 0) for several. Every frame
the loop delivers is written, reused ones included, so the video has as many frames as
the run processed. The frame rate is the one the frames arrive at, by their timestamps:
a file's own rate (its timestamps are index / fps and no frame is dropped); for a camera
or stream the rate of the frames processed, so the video plays in real time even when
the source drops frames the module could not keep up with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..drawing import annotate
from ..errors import ConfigError
from ..results import FrameResult

log = logging.getLogger(__name__)

SUFFIXES = (".mp4", ".mkv", ".avi")
FOURCC = "mp4v"
RATE_FRAMES = 8  # frames held per source to measure its frame rate before writing
DEFAULT_FPS = 25.0  # when the timestamps cannot tell (a single frame)


def video_paths(target: str, sources: int) -> list[Path]:
    """The file of each source: `target` for one, `stem-<n>.suffix` for several."""
    path = Path(target)
    if sources <= 1:
        return [path]
    return [path.with_name(f"{path.stem}-{n}{path.suffix}") for n in range(sources)]


def check_writable(paths: list[Path]) -> None:
    """Raise ConfigError (one line) unless each video file can be created: before the
    models load. Missing folders are made; a probe file is removed again."""
    for path in paths:
        if path.is_dir():
            raise ConfigError(f"cannot write SAVE_VIDEO {path}: it is a folder")
        existed = path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab"):
                pass
        except OSError as exc:
            raise ConfigError(f"cannot write SAVE_VIDEO {path}: {exc.strerror}") from None
        if not existed:
            path.unlink(missing_ok=True)


def frame_rate(stamps: list[float]) -> float:
    """Frames per second of consecutive frames' timestamps (seconds); DEFAULT_FPS if
    they cannot tell. Rounded to 1/1000 (a file's timestamps give its rate back exactly)."""
    if len(stamps) >= 2 and stamps[-1] > stamps[0]:
        return round(min(240.0, max(1.0, (len(stamps) - 1) / (stamps[-1] - stamps[0]))), 3)
    return DEFAULT_FPS


@dataclass
class _Track:
    """One source's video: frames held until its rate is known, then its writer."""

    path: Path
    held: list[np.ndarray] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    writer: cv2.VideoWriter | None = None
    size: tuple[int, int] = (0, 0)  # (width, height) of the written frames
    fps: float = 0.0
    written: int = 0

    def add(self, image: np.ndarray, timestamp: float) -> None:
        if self.writer is not None:
            self._write(image)
            return
        self.held.append(image)
        self.stamps.append(timestamp)
        if len(self.held) >= RATE_FRAMES:
            self.start()

    def start(self) -> None:
        """Open the writer at the measured rate and write the held frames."""
        if self.writer is not None or not self.held:
            return
        self.fps = frame_rate(self.stamps)
        height, width = self.held[0].shape[:2]
        self.size = (width, height)
        fourcc = cv2.VideoWriter.fourcc(*FOURCC)
        self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self.size)
        if not self.writer.isOpened():
            self.writer = None
            raise ConfigError(f"cannot write SAVE_VIDEO {self.path}: OpenCV cannot open it")
        held, self.held = self.held, []
        for image in held:
            self._write(image)

    def _write(self, image: np.ndarray) -> None:
        assert self.writer is not None
        if (image.shape[1], image.shape[0]) != self.size:  # a live source changed size
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.written += 1

    def close(self) -> None:
        self.start()
        if self.writer is not None:
            self.writer.release()
            self.writer = None
            log.info("wrote %d annotated frames (%g fps) to %s", self.written, self.fps, self.path)


class VideoSink:
    """Writes every result's frame, annotated, to its source's video file."""

    def __init__(self, target: str, source_ids: list[str]) -> None:
        self.target = target
        self.source_ids = list(source_ids)
        self._tracks: dict[str, _Track] = {}

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc: object) -> None:
        tracks, self._tracks = self._tracks, {}
        for track in tracks.values():
            track.close()

    def write(self, result: FrameResult) -> None:
        if result.image is None:
            return
        track = self._tracks.get(result.source_id) or self._open(result.source_id)
        image = annotate(result.image, result.detections, reused=result.reused)
        track.add(image, result.timestamp)

    def _open(self, source_id: str) -> _Track:
        if source_id not in self.source_ids:  # a source added by a live CAMERA_PATH change
            self.source_ids.append(source_id)
        paths = video_paths(self.target, max(2, len(self.source_ids)))
        index = self.source_ids.index(source_id)
        path = Path(self.target) if len(self.source_ids) == 1 else paths[index]
        track = self._tracks[source_id] = _Track(path)
        log.info("writing the annotated video of %s to %s", source_id, path)
        return track
