"""Text detector edge module: PaddleOCR DB text detection on video streams."""

__version__ = "0.1.0"
