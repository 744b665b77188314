"""OpenCV VideoCapture sources: video files, cameras, network streams, GStreamer pipelines."""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..config import SourceSettings
from ..errors import SourceError
from .base import Frame, FrameSource

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "tcp", "udp", "srt")
MQTT_SCHEMES = ("mqtt", "mqtts")  # snapshots published to a topic (sources/mqtt.py)
_DEVICE = re.compile(r"^/dev/video(\d+)$")
_PASSWORD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*):[^/@]*@")


def redact(target: str | int) -> str:
    """A source as shown in logs, metrics and telemetry: a URL's password becomes ***."""
    return _PASSWORD.sub(r"\1:***@", str(target))


@dataclass(frozen=True)
class SourceSpec:
    """What a CAMERA_PATH value names: kind is file, camera, stream, gstreamer or mqtt."""

    kind: str
    target: str | int

    @property
    def live(self) -> bool:
        return self.kind != "file"


def classify(value: str) -> SourceSpec:
    """Tell a camera index, device, stream URL, GStreamer pipeline or file path apart."""
    value = value.strip()
    if value.isdigit():
        return SourceSpec("camera", int(value))
    if _DEVICE.match(value):
        return SourceSpec("camera", value)
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme in STREAM_SCHEMES:
        return SourceSpec("stream", value)
    if scheme in MQTT_SCHEMES:
        return SourceSpec("mqtt", value)
    if "!" in value and ("appsink" in value or "src" in value):
        return SourceSpec("gstreamer", value)
    return SourceSpec("file", value)


def gstreamer_available() -> bool:
    info = cv2.getBuildInformation()
    match = re.search(r"GStreamer:\s*(\w+)", info)
    return match is not None and match.group(1).upper() == "YES"


class CaptureSource:
    """A FrameSource reading through cv2.VideoCapture."""

    def __init__(self, spec: SourceSpec, loop: bool = False, timeout_s: float = 10.0) -> None:
        self.spec = spec
        self.live = spec.live
        self.loop = loop and not spec.live
        self.timeout_s = timeout_s
        self.source_id = redact(spec.target)
        self._cap: cv2.VideoCapture | None = None
        self._index = 0
        self._offset_s = 0.0

    def open(self) -> None:
        self.check()
        started = time.monotonic()
        self._cap = self._capture()
        if not self._cap.isOpened():
            self._cap.release()
            self._cap = None
            raise SourceError(self._open_failure(time.monotonic() - started))

    def check(self) -> None:
        """Raise SourceError for what is wrong before opening (missing file or device)."""
        kind, target = self.spec.kind, self.spec.target
        if kind == "file":
            path = Path(str(target))
            if not path.exists():
                raise SourceError(f"video file not found: {path}")
            if path.is_dir():
                raise SourceError(f"video path is a folder, not a file: {path}")
            if path.stat().st_size == 0:
                raise SourceError(f"video file is empty (0 bytes): {path}")
            if not os.access(path, os.R_OK):
                raise SourceError(f"video file is not readable (permissions): {path}")
        elif kind == "camera" and isinstance(target, str) and not Path(target).exists():
            raise SourceError(
                f"camera {target} not found: is it plugged in and "
                "passed to the container (--device)?"
            )
        elif kind == "gstreamer" and not gstreamer_available():
            raise SourceError(
                "CAMERA_PATH is a GStreamer pipeline but this OpenCV build has "
                "no GStreamer support; use a file, camera index or stream URL, "
                "or an OpenCV built with GStreamer (as on JetPack)"
            )

    def _capture(self) -> cv2.VideoCapture:
        kind, target = self.spec.kind, self.spec.target
        if kind == "gstreamer":
            return cv2.VideoCapture(str(target), cv2.CAP_GSTREAMER)
        if kind == "camera":
            return cv2.VideoCapture(target)
        timeout_ms = int(self.timeout_s * 1000)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            timeout_ms,
        ]
        return cv2.VideoCapture(str(target), cv2.CAP_FFMPEG, params)

    def _open_failure(self, elapsed_s: float) -> str:
        kind, target = self.spec.kind, self.spec.target
        if kind == "file":
            return f"cannot decode video file {target}: not a video, or an unsupported codec"
        if kind == "camera":
            return f"cannot open camera {target}: unplugged, busy, or no permission"
        if kind == "stream" and elapsed_s >= 0.9 * self.timeout_s:
            return f"cannot open stream {self.source_id}: no answer within {self.timeout_s:g} s"
        if kind == "stream":
            return (
                f"cannot open stream {self.source_id}: "
                f"{stream_refusal(str(target), self.timeout_s)}"
            )
        return f"cannot open GStreamer pipeline: {target}"

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError("source read before open")
        ok, image = self._cap.read()
        if not ok and self.loop and self._index > 0:
            self._offset_s = self._timestamp()
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok:
            return self._end_of_stream()
        frame = Frame(self._index, self._timestamp(), image)
        self._index += 1
        return frame

    def _end_of_stream(self) -> Frame | None:
        if self.spec.kind == "file" and self._index == 0:
            raise SourceError(f"video file has no readable frames: {self.spec.target}")
        if self.live:
            raise SourceError(f"{self.spec.kind} {self.source_id} stopped delivering frames")
        return None

    def _timestamp(self) -> float:
        if self.live:
            return time.time()
        fps = self._cap.get(cv2.CAP_PROP_FPS) if self._cap is not None else 0.0
        if fps and fps > 0:
            return self._offset_s + self._index / fps
        ms = self._cap.get(cv2.CAP_PROP_POS_MSEC) if self._cap is not None else 0.0
        return self._offset_s + ms / 1000.0

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def stream_refusal(url: str, timeout_s: float) -> str:
    """Why a stream URL was refused, as far as can be told without FFmpeg's log."""
    if url.lower().startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                kind = response.headers.get_content_type()
            return f"the server answers with {kind}, not a video stream"
        except urllib.error.HTTPError as exc:
            return f"the server answers HTTP {exc.code} {exc.reason}"
        except (OSError, ValueError) as exc:
            return f"cannot connect ({getattr(exc, 'reason', exc)})"
    return (
        "connection refused, wrong path, or not a video stream "
        "(check host, port and path; LOG_LEVEL=debug shows FFmpeg's reason)"
    )


SOURCE_SEPARATOR = "|"


def source_paths(camera_path: str) -> list[str]:
    """The sources a CAMERA_PATH value names: several are separated by `|`."""
    return [part.strip() for part in camera_path.split(SOURCE_SEPARATOR) if part.strip()]


def check_sources(camera_path: str) -> None:
    """Raise the SourceError opening would give for what can be checked at once (a missing,
    empty or unreadable file, a missing camera device): before anything slow starts."""
    paths = source_paths(camera_path)
    if not paths:
        raise SourceError("CAMERA_PATH names no source")
    for path in paths:
        CaptureSource(classify(path)).check()


def open_all(
    paths: list[str], make: Callable[[str], Any], opened: Callable[[Any], None] | None = None
) -> list[Any]:
    """Make and open a source per path, ids made unique (`a`, `a#2`); `opened` sees each.

    If one cannot open, those already open are closed and its SourceError raised.
    """
    sources: list[Any] = []
    seen: dict[str, int] = {}
    try:
        for path in paths:
            source = make(path)
            seen[source.source_id] = seen.get(source.source_id, 0) + 1
            if seen[source.source_id] > 1:
                source.source_id = f"{source.source_id}#{seen[source.source_id]}"
            source.open()
            if opened is not None:
                opened(source)
            sources.append(source)
    except SourceError:
        for source in sources:
            source.close()
        raise
    if not sources:
        raise SourceError("CAMERA_PATH names no source")
    return sources


def open_sources(settings: SourceSettings) -> list[FrameSource]:
    """Open every source CAMERA_PATH lists (`a.mp4|rtsp://...`); ids are made unique."""
    return open_all(
        source_paths(settings.camera_path),
        lambda path: CaptureSource(classify(path), settings.loop, settings.source_timeout),
    )


def read_frames(video: Path, indices: Iterable[int]) -> list[np.ndarray]:
    """The frames at `indices` of a video file ([] if it cannot be opened; misses skipped)."""
    capture = cv2.VideoCapture(str(video))
    frames: list[np.ndarray] = []
    try:
        if not capture.isOpened():
            return []
        for index in indices:
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = capture.read()
            if ok:
                frames.append(frame)
    finally:
        capture.release()
    return frames


def open_source(settings: SourceSettings) -> CaptureSource:
    """Open the source CAMERA_PATH names; raises SourceError if it cannot."""
    source = CaptureSource(classify(settings.camera_path), settings.loop, settings.source_timeout)
    source.open()
    return source
