"""The HTTP service reads text: `/score` answers AVA entity + text inferences, Custom
Vision predictions carry the reading; a real `main.py serve` child on a real page."""

from __future__ import annotations

import numpy as np
import pytest
from serve_helpers import ServerProcess, multipart, page_png, request

from textdetector.results import Detections
from textdetector.serve.formats import custom_vision_prediction, lva_inferences


@pytest.fixture(scope="module")
def reading_server():
    server = ServerProcess({"SERVE_WARMUP_RUNS": "1", "READ_TEXT": "true"})
    try:
        yield server.start()
    finally:
        assert server.stop() == 0, "".join(server.log)


def by_id(inferences: list[dict]) -> dict[str, dict]:
    return {item["inferenceId"]: item for item in inferences}


def words(texts: list[str]) -> set[str]:
    return {w.strip(".,;:").lower() for text in texts for w in text.split()}


@pytest.mark.slow
def test_score_relates_each_region_to_its_text(reading_server):
    reply = request(
        reading_server.port, "POST", "/score", page_png(), {"Content-Type": "image/png"}
    )
    assert reply.status == 200, reply.body
    inferences = reply.json()["inferences"]
    entities = [i for i in inferences if i["type"] == "entity"]
    texts = [i for i in inferences if i["type"] == "text"]
    assert len(entities) >= 3 and len(texts) >= len(entities) // 2, "the page is all text"
    index = by_id(inferences)
    assert len(index) == len(inferences), "inference ids are unique"
    assert entities[0]["inferenceId"] == "region-1"
    for text in texts:
        assert set(text["text"]) == {"value", "language", "startTimestamp", "endTimestamp"}
        assert text["text"]["value"] and text["subtype"] == "ocr"
        [owner] = text["relatedInferences"]
        assert index[owner]["type"] == "entity"
        assert index[owner]["relatedInferences"] == [text["inferenceId"]]
        assert 0.5 <= float(text["extensions"]["confidence"]) <= 1.0
    for entity in entities:
        assert entity["entity"]["tag"]["value"] == "text"
        assert len(entity["relatedInferences"]) <= 1
    read = words([t["text"]["value"] for t in texts])
    # skimage's page.png: "Region-based segmentation / Let us first determine markers
    # of the coins and the ..."
    assert {"segmentation", "markers", "coins"} <= read, sorted(read)


@pytest.mark.slow
def test_custom_vision_carries_the_reading(reading_server):
    body, headers = multipart("imageData", "page.png", page_png())
    reply = request(reading_server.port, "POST", "/image", body, headers)
    assert reply.status == 200, reply.body
    predictions = reply.json()["predictions"]
    assert predictions and all(p["tagName"] == "text" for p in predictions)
    assert all(isinstance(p["text"], str) and 0 <= p["textProbability"] <= 1 for p in predictions)
    assert "segmentation" in words([p["text"] for p in predictions])


def test_model_metadata_says_it_reads(reading_server):
    reply = request(reading_server.port, "GET", "/v2/models/textdetector")
    assert reply.json()["parameters"]["read_text"] is True


def detections(texts: tuple[str, ...] | None) -> Detections:
    boxes = np.array(
        [[[10, 10], [50, 10], [50, 20], [10, 20]], [[10, 40], [90, 40], [90, 60], [10, 60]]],
        np.float32,
    )
    det = Detections(boxes, np.array([0.7, 0.9], np.float32), (100, 100))
    return det if texts is None else det.with_texts(texts, np.array([0.8, 0.3], np.float32))


def test_formats_without_readings_keep_the_old_shape():
    """READ_TEXT off: only entities, best first; Custom Vision without text fields."""
    body = lva_inferences(detections(None), "text")
    assert [i["type"] for i in body["inferences"]] == ["entity", "entity"]
    assert [i["entity"]["tag"]["confidence"] for i in body["inferences"]] == [0.9, 0.7]
    assert all(i["relatedInferences"] == [] for i in body["inferences"])
    cv = custom_vision_prediction(detections(None), "text", "p", "i")
    assert all("text" not in p for p in cv["predictions"])


@pytest.mark.slow
def test_formats_skip_text_inferences_for_unread_regions():
    body = lva_inferences(detections(("EXIT", "")), "text")
    kinds = [i["type"] for i in body["inferences"]]
    assert kinds == ["entity", "entity", "text"]  # best first; the 0.9 box read nothing
    assert body["inferences"][2]["text"]["value"] == "EXIT"
    assert body["inferences"][2]["relatedInferences"] == [body["inferences"][1]["inferenceId"]]
    cv = custom_vision_prediction(detections(("EXIT", "")), "text", "p", "i")
    assert [p["text"] for p in cv["predictions"]] == ["", "EXIT"]
