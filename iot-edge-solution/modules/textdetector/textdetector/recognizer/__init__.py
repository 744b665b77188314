"""Text recognition: read the text in every detected region (PP-OCR semantics)."""

from .classifier import AngleClassifier
from .crop import crop_all, crop_quad
from .ctc import charset_from_metadata, greedy_decode
from .reading import read_regions
from .readings import Readings
from .recognizer import TextRecognizer
from .upright import read_still

__all__ = [
    "AngleClassifier",
    "Readings",
    "TextRecognizer",
    "charset_from_metadata",
    "crop_all",
    "crop_quad",
    "greedy_decode",
    "read_regions",
    "read_still",
]
