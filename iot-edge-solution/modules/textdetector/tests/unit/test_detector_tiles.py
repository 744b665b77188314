"""The tile pass for large stills: offsets, boxes cut by inner tile edges, the merge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from textdetector.detector import tiles
from textdetector.detector.policy import PADDLE_V4, V6
from textdetector.results import Detections


def dets(*boxes, size=(2160, 3840)) -> Detections:
    quads = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for x0, y0, x1, y1 in boxes]
    return Detections(
        np.array(quads, np.float32).reshape(-1, 4, 2), np.full(len(boxes), 0.8, np.float32), size
    )


def test_tile_offsets_overlap_and_end_flush():
    assert tiles.starts(800, 960) == [0]
    offsets = tiles.starts(3840, 960)
    assert offsets[0] == 0 and offsets[-1] == 3840 - 960
    assert all(b - a <= 960 * (1 - tiles.OVERLAP) for a, b in zip(offsets, offsets[1:]))
    assert len(tiles.origins(2160, 3840, 960)) == len(tiles.starts(2160, 960)) * len(offsets)


@pytest.mark.parametrize(
    ("policy", "size", "tiled"),
    [
        (V6, (2160, 3840), True),  # 4K: shrunk 2.9x
        (V6, (1080, 1920), True),  # 1080p: shrunk 1.47x
        (V6, (720, 1280), False),  # raised, not shrunk: the demo video's frames
        (V6, (3300, 900), True),  # a tall page: long side capped at 1600, shrunk 2x
        (V6, (880, 1200), False),  # shrunk only 1.196x
        (V6, (900, 940), False),  # shrunk 1.22x, but one tile would be the whole image
        (PADDLE_V4, (2160, 3840), False),  # PaddleOCR's policy: one pass
    ],
)
def test_which_stills_get_the_tile_pass(policy, size, tiled):
    assert policy.tiled(*size) is tiled


def test_boxes_cut_by_an_inner_tile_edge_are_dropped_and_the_rest_moved_to_image_pixels():
    found = dets((0, 10, 50, 30), (100, 100, 200, 130), (900, 10, 960, 30), size=(960, 960))
    placed = tiles.whole_boxes(found, (0, 816), (960, 960), (2160, 3840))
    # left edge is inner (x=816 > 0): cut; right edge is inner (816+960 < 3840): cut
    assert placed.xyxy().tolist() == [[916.0, 100.0, 1016.0, 130.0]]
    at_corner = tiles.whole_boxes(found, (0, 0), (960, 960), (960, 960))
    assert len(at_corner) == 3  # every edge of a tile that is the whole image is outer


def test_tile_boxes_only_fill_places_the_whole_image_pass_left_empty():
    whole = dets((100, 100, 400, 140))
    from_tiles = [
        dets((110, 102, 250, 138)),  # a fragment of a line already found: not added
        dets((2000, 1500, 2060, 1510), (2001, 1500, 2061, 1511)),  # new, seen twice
    ]
    merged = tiles.add_uncovered(whole, from_tiles)
    assert merged.xyxy().tolist()[0] == [100.0, 100.0, 400.0, 140.0]
    assert len(merged) == 2 and merged.xyxy()[1, 0] in (2000.0, 2001.0)
    assert tiles.add_uncovered(whole, [Detections.empty(whole.image_size)]) is whole
    assert len(tiles.add_uncovered(Detections.empty(whole.image_size), from_tiles)) == 2


@pytest.mark.slow
def test_small_text_in_a_4k_frame_is_found_by_the_tile_pass(page_image):
    """The real PP-OCRv6 detector: a photographed page pasted at its own size into a 4K
    frame is a few pixels tall after the whole-image pass shrinks it 2.9x; the tiles
    find its lines, DET_TILE=0 (one pass) does not."""
    from textdetector.config import LOCAL_DATA, DetectorSettings, EngineSettings
    from textdetector.detector import TextDetector

    model = LOCAL_DATA / "PP-OCRv6_det_small.onnx"
    if not model.is_file():
        pytest.skip("PP-OCRv6 detection model missing: run `make setup`")
    frame = np.full((2160, 3840, 3), 120, np.uint8)
    y, x = 1200, 1700  # the page straddles tile edges: boxes cut there are dropped
    frame[y : y + page_image.shape[0], x : x + page_image.shape[1]] = page_image
    engine = EngineSettings(model_path=model)
    with TextDetector.open(engine, DetectorSettings(), shapes="dynamic") as detector:
        tiled, _ = detector.detect(frame)
        detector.reconfigure(DetectorSettings(det_tile=0))
        single, _ = detector.detect(frame)
    on_page = lambda d: [b for b in d.xyxy().tolist() if b[0] >= x - 8 and b[1] >= y - 8]  # noqa: E731
    assert len(on_page(tiled)) >= 7  # the page holds 9 lines
    assert len(on_page(single)) <= 3


def test_images_over_4k_are_tiled_scaled_down_so_the_cost_stays_bounded():
    assert tiles.scale_for((2160, 3840)) == 1.0
    assert tiles.scale_for((20000, 20000)) == pytest.approx(4096 / 20000)
    found = dets((100, 100, 200, 120), size=(4096, 4096))
    back = tiles.scaled(found, 20000 / 4096, (20000, 20000))
    assert back.image_size == (20000, 20000)
    assert back.xyxy()[0].tolist() == pytest.approx([488.28, 488.28, 976.56, 585.94], abs=0.01)


@pytest.mark.slow
def test_a_part_of_a_frame_is_detected_at_the_whole_frames_scale(demo_frames):
    """Region reuse detects only the changed half-size part of a frame: at the scale the
    policy gives the whole frame (not raised to the policy's 736-pixel short side, twice
    the scale and the cost), it finds the same boxes the whole frame has there."""
    from textdetector.config import LOCAL_DATA, EngineSettings
    from textdetector.detector import TextDetector

    model = LOCAL_DATA / "PP-OCRv6_det_small.onnx"
    if not model.is_file():
        pytest.skip("PP-OCRv6 detection model missing: run `make setup`")
    frame = demo_frames[60]
    height, width = frame.shape[:2]
    with TextDetector.open(EngineSettings(model_path=model)) as detector:
        whole = detector.detect_batch([frame])[0][0]
        size = detector.part_input_size((height // 2, width // 2), (height, width))
        assert size == (384, 640) and detector.input_size((height, width)) == (736, 1312)
        found = []
        for y, x in ((0, 0), (0, width // 2), (height // 2, 0), (height // 2, width // 2)):
            part = frame[y : y + height // 2, x : x + width // 2]
            boxes = detector.submit([part], input_size=size).result()[0][0]
            found += [[b[0] + x, b[1] + y, b[2] + x, b[3] + y] for b in boxes.xyxy().tolist()]
    inside = [
        b
        for b in whole.xyxy().tolist()
        if (b[0] // (width // 2)) == (b[2] // (width // 2))
        and (b[1] // (height // 2)) == (b[3] // (height // 2))
    ]  # lines no quarter edge cuts
    assert inside
    from textdetector.geometry import box_iou

    assert all(max(box_iou(b, f) for f in found) >= 0.8 for b in inside)


@pytest.mark.slow
def test_the_zoom_pass_reads_small_lines_of_a_small_still():
    """The real PP-OCRv6 detector and recogniser on a real photo of the tuning split
    (sudoku.png, 558 x 563 px): raised to the policy's 736-pixel short side, two small
    lines are not found; DET_ZOOM=1280 adds them, the default (no zoom pass) does not."""
    import cv2

    from textdetector.commands.detect import read_lines_of
    from textdetector.config import (
        LOCAL_DATA,
        DetectorSettings,
        EngineSettings,
        RecognizerSettings,
    )
    from textdetector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer

    model = LOCAL_DATA / "PP-OCRv6_det_small.onnx"
    if not model.is_file():
        pytest.skip("PP-OCRv6 detection model missing: run `make setup`")
    path = Path(__file__).resolve().parents[2] / "evaluation/real_scenes/images/sudoku.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    engine = EngineSettings(model_path=model)
    with (
        TextDetector.open(engine, DetectorSettings(det_assist="off"), shapes="dynamic") as detector,
        TextRecognizer.open(RecognizerSettings(), engine) as recognizer,
    ):
        single = read_lines_of(detector, recognizer, image)  # DET_ASSIST off: the zoom alone
        detector.reconfigure(DetectorSettings(det_zoom=1280, det_assist="off"))
        zoomed = read_lines_of(detector, recognizer, image)
    assert not any("today's" in line for line in single)
    assert any("today's Sudoku" in line for line in zoomed)
    assert set(single) - set(zoomed) <= {""}  # what one pass read stays
