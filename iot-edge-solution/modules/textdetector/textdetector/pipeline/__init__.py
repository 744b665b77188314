"""The pipeline: one run loop for one or many sources, and `run` from settings."""
from .loop import RunLoop, RunSummary, process
from .run import run

__all__ = ["RunLoop", "RunSummary", "process", "run"]
