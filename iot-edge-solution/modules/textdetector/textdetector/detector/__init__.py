"""Text detection: pre-process, run the DB model on an engine, DB post-process."""

from .detector import Prepared, TextDetector
from .postprocess import DBParams, DBPostProcess
from .preprocess import as_bgr, input_size, to_blob

__all__ = [
    "TextDetector",
    "Prepared",
    "DBParams",
    "DBPostProcess",
    "as_bgr",
    "input_size",
    "to_blob",
]
