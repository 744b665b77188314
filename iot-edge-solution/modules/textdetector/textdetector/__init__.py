"""Text detector edge module: finds and reads text in video and images.

PaddleOCR PP-OCRv6 detector and recogniser by default (PP-OCRv4: DET_MODEL, MODEL_SET), on
OpenVINO (the x86-64 default) or ONNX Runtime on the CPU, TensorRT on an NVIDIA GPU, or a
remote Triton server. Results go to the console, JSON Lines, IoT Hub, a Blob archive, or
an HTTP scoring service (`serve`).
"""

from .native_limits import cap_decoded_pixels
from .native_logs import quiet_native_logs

quiet_native_logs()  # before anything imports cv2
cap_decoded_pixels()

__version__ = "0.1.0"
