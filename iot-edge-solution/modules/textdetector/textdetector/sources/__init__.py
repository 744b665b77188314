"""Frame sources behind one interface, read on their own thread."""

from .base import Frame, FrameSource, SelfHealingSource
from .capture import CaptureSource, SourceSpec, classify, open_source, open_sources, source_paths
from .reader import FrameReader

__all__ = [
    "Frame",
    "FrameSource",
    "CaptureSource",
    "SourceSpec",
    "classify",
    "open_source",
    "open_sources",
    "source_paths",
    "FrameReader",
    "SelfHealingSource",
]
