"""Answer bodies: LVA/AVA HTTP extension inferences and Custom Vision predictions.

Both use boxes normalised to 0-1 of the image as sent, axis-aligned around each
detected quadrilateral, highest confidence first.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..results import Detections

# Stable tag id for the one class this model reports (Custom Vision answers carry one).
TAG_NAMESPACE = uuid.UUID("6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f")


def normalised_boxes(detections: Detections) -> list[tuple[float, float, float, float, float]]:
    """(left, top, width, height, score) in 0-1 image units, best score first."""
    height, width = detections.image_size
    if len(detections) == 0 or height <= 0 or width <= 0:
        return []
    xyxy = detections.xyxy().astype(np.float64)
    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]] / width, 0.0, 1.0)
    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]] / height, 0.0, 1.0)
    order = np.argsort(-detections.scores, kind="stable")
    return [(float(xyxy[i, 0]), float(xyxy[i, 1]), float(xyxy[i, 2] - xyxy[i, 0]),
             float(xyxy[i, 3] - xyxy[i, 1]), float(detections.scores[i])) for i in order]


def lva_inferences(detections: Detections, tag: str) -> dict[str, Any] | None:
    """LVA/AVA extension answer; None when nothing was found (the caller answers 204)."""
    boxes = normalised_boxes(detections)
    if not boxes:
        return None
    return {"inferences": [
        {"type": "entity",
         "entity": {"tag": {"value": tag, "confidence": round(score, 4)},
                    "box": {"l": round(left, 4), "t": round(top, 4),
                            "w": round(w, 4), "h": round(h, 4)}}}
        for left, top, w, h, score in boxes]}


def tag_id(tag: str) -> str:
    return str(uuid.uuid5(TAG_NAMESPACE, tag))


def custom_vision_prediction(detections: Detections, tag: str, project: str,
                             iteration: str) -> dict[str, Any]:
    """Custom Vision object-detection prediction answer (always a body, maybe empty)."""
    tid = tag_id(tag)
    return {
        "id": str(uuid.uuid4()),
        "project": project,
        "iteration": iteration,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "predictions": [
            {"probability": round(score, 6), "tagId": tid, "tagName": tag,
             "boundingBox": {"left": round(left, 6), "top": round(top, 6),
                             "width": round(w, 6), "height": round(h, 6)}}
            for left, top, w, h, score in normalised_boxes(detections)],
    }
