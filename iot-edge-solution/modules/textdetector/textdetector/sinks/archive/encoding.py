"""Frame pixels to JPEG bytes, with detection boxes drawn for the annotated container."""

from __future__ import annotations

import cv2
import numpy as np

from ...results import Detections

BOX_COLOUR = (0, 200, 0)  # BGR
TEXT_COLOUR = (0, 0, 0)


def draw_boxes(image: np.ndarray, detections: Detections) -> np.ndarray:
    """A copy of the BGR frame with each quadrilateral and its score drawn."""
    canvas = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 500))
    for quad, score in zip(detections.boxes, detections.scores):
        points = np.rint(quad).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [points], True, BOX_COLOUR, thickness, cv2.LINE_AA)
        x, y = int(points[:, 0, 0].min()), int(points[:, 0, 1].min())
        label = f"{float(score):.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        top = max(0, y - th - base - 2)
        cv2.rectangle(canvas, (x, top), (x + tw + 2, top + th + base + 2), BOX_COLOUR, -1)
        cv2.putText(
            canvas,
            label,
            (x + 1, top + th + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            TEXT_COLOUR,
            1,
            cv2.LINE_AA,
        )
    return canvas


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of a BGR image; raises ValueError when OpenCV cannot encode it."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"cannot encode an image of shape {image.shape} as JPEG")
    return buffer.tobytes()
