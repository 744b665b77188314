"""The pipeline: one run loop for one or many sources, and `run` from settings."""

from .loop import LoopOptions, RunLoop, RunSummary, process
from .run import run

__all__ = ["LoopOptions", "RunLoop", "RunSummary", "process", "run"]
