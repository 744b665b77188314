"""Text detector edge module: PaddleOCR DB text detection on video streams."""
from .native_limits import cap_decoded_pixels
from .native_logs import quiet_native_logs

quiet_native_logs()  # before anything imports cv2
cap_decoded_pixels()

__version__ = "0.1.0"
