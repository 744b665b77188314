"""Answer bodies: LVA/AVA HTTP extension inferences and Custom Vision predictions.

Both use boxes normalised to 0-1 of the image as sent, axis-aligned around each
detected quadrilateral, highest confidence first. When text was read, the LVA answer
relates each region's `entity` inference to a `text` inference holding the reading
(Azure Video Analyzer's inference shapes), and each Custom Vision prediction carries it
as the extra fields `text` and `textProbability` (`tagName` stays the region tag).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..results import Detections

# Stable tag id for the one class this model reports (Custom Vision answers carry one).
TAG_NAMESPACE = uuid.UUID("6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f")


# A reading's language is not known to the model: BCP 47 "und" (undetermined).
TEXT_LANGUAGE = "und"
Region = tuple[int, float, float, float, float, float]  # index, l, t, w, h, score


def ranked_regions(detections: Detections) -> list[Region]:
    """(box index, left, top, width, height, score) in 0-1 image units, best score first."""
    height, width = detections.image_size
    if len(detections) == 0 or height <= 0 or width <= 0:
        return []
    xyxy = detections.xyxy().astype(np.float64)
    xyxy[:, [0, 2]] = np.clip(xyxy[:, [0, 2]] / width, 0.0, 1.0)
    xyxy[:, [1, 3]] = np.clip(xyxy[:, [1, 3]] / height, 0.0, 1.0)
    order = np.argsort(-detections.scores, kind="stable")
    return [
        (
            int(i),
            float(xyxy[i, 0]),
            float(xyxy[i, 1]),
            float(xyxy[i, 2] - xyxy[i, 0]),
            float(xyxy[i, 3] - xyxy[i, 1]),
            float(detections.scores[i]),
        )
        for i in order
    ]


def reading(detections: Detections, index: int) -> tuple[str, float] | None:
    """(text, confidence) read in box `index`; None when nothing was read there."""
    if detections.texts is None or detections.text_scores is None or not detections.texts[index]:
        return None
    return detections.texts[index], float(detections.text_scores[index])


def lva_inferences(detections: Detections, tag: str) -> dict[str, Any] | None:
    """LVA/AVA extension answer; None when nothing was found (the caller answers 204).

    One `entity` inference per region, best first; a region whose text was read is
    followed by a `text` inference, the two naming each other in `relatedInferences`.
    Ids are unique within the answer and follow the rank (`region-1`, `text-1`), so one
    image always gets the same answer.
    """
    regions = ranked_regions(detections)
    if not regions:
        return None
    inferences: list[dict[str, Any]] = []
    for rank, (index, left, top, w, h, score) in enumerate(regions, start=1):
        entity = {
            "type": "entity",
            "subtype": "",
            "inferenceId": f"region-{rank}",
            "relatedInferences": [],
            "entity": {
                "tag": {"value": tag, "confidence": round(score, 4)},
                "box": {
                    "l": round(left, 4),
                    "t": round(top, 4),
                    "w": round(w, 4),
                    "h": round(h, 4),
                },
            },
        }
        inferences.append(entity)
        read = reading(detections, index)
        if read is not None:
            text = text_inference(read, entity, f"text-{rank}")
            text["extensions"] |= detections.pattern_extensions(index)
            inferences.append(text)
    return {"inferences": inferences}


def text_inference(read: tuple[str, float], entity: dict[str, Any], text_id: str) -> dict[str, Any]:
    """The AVA `text` inference of one reading, related to (and from) its entity."""
    text, confidence = read
    entity["relatedInferences"].append(text_id)
    return {
        "type": "text",
        "subtype": "ocr",
        "inferenceId": text_id,
        "relatedInferences": [entity["inferenceId"]],
        "text": {"value": text, "language": TEXT_LANGUAGE, "startTimestamp": 0, "endTimestamp": 0},
        "extensions": {"confidence": f"{confidence:.4f}"},
    }


def tag_id(tag: str) -> str:
    return str(uuid.uuid5(TAG_NAMESPACE, tag))


def custom_vision_prediction(
    detections: Detections, tag: str, project: str, iteration: str
) -> dict[str, Any]:
    """Custom Vision object-detection prediction answer (always a body, maybe empty)."""
    tid = tag_id(tag)
    return {
        "id": str(uuid.uuid4()),
        "project": project,
        "iteration": iteration,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "predictions": [
            {
                "probability": round(score, 6),
                "tagId": tid,
                "tagName": tag,
                "boundingBox": {
                    "left": round(left, 6),
                    "top": round(top, 6),
                    "width": round(w, 6),
                    "height": round(h, 6),
                },
                **cv_reading(detections, index),
            }
            for index, left, top, w, h, score in ranked_regions(detections)
        ],
    }


def cv_reading(detections: Detections, index: int) -> dict[str, Any]:
    """Custom Vision extra fields: `text` ("" = nothing read) and `textProbability`, with
    REC_PATTERN also `rawText`, `pattern` and `matched`; none when text is not read at
    all (READ_TEXT=false)."""
    if detections.texts is None or detections.text_scores is None:
        return {}
    return {
        "text": detections.texts[index],
        "textProbability": round(float(detections.text_scores[index]), 6),
        **detections.pattern_fields(index),
    }
