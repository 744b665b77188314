"""REC_UPRIGHT: a still lying on its side is detected and read turned upright."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from recognition_support import detector_and_readers

from textdetector.config import ConfigError, RecognizerSettings
from textdetector.config import load as load_settings
from textdetector.geometry import turned, turned_back
from textdetector.recognizer.upright import (
    TURNS,
    confident_characters,
    mostly_tall,
    read_upright,
    sample_score,
    upside_down,
)
from textdetector.results import Detections

WIDE = np.array([[[0, 0], [60, 0], [60, 10], [0, 10]]], np.float32)
TALL = np.array([[[0, 0], [10, 0], [10, 60], [0, 60]]], np.float32)


def read(boxes: np.ndarray, texts: tuple[str, ...], scores: tuple[float, ...]) -> Detections:
    found = Detections(boxes, np.ones(len(boxes), np.float32), (100, 200))
    return found.with_texts(texts, np.array(scores, np.float32))


@pytest.mark.parametrize("turn", sorted(TURNS))
def test_boxes_found_turned_come_back_to_the_stills_own_pixels_in_order(turn):
    """A mark drawn in a still, found in the still turned, maps back onto the mark with
    its points top-left, top-right, bottom-right, bottom-left as the still shows them."""
    still = np.zeros((40, 100), np.uint8)
    still[5:15, 10:30] = 255
    turned = cv2.rotate(still, TURNS[turn])
    ys, xs = np.nonzero(turned)
    found = np.array(
        [[[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()], [xs.min(), ys.max()]]],
        np.float32,
    )
    back = turned_back(found, turn, still.shape[:2])
    np.testing.assert_allclose(back[0], [[10, 5], [29, 5], [29, 14], [10, 14]])


@pytest.mark.parametrize("turn", sorted(TURNS))
def test_a_stills_boxes_turned_land_on_the_mark_in_the_turned_still(turn):
    still = np.zeros((40, 100), np.uint8)
    still[5:15, 10:30] = 255
    box = np.array([[[10, 5], [29, 5], [29, 14], [10, 14]]], np.float32)
    ys, xs = np.nonzero(cv2.rotate(still, TURNS[turn]))
    expected = [
        [xs.min(), ys.min()],
        [xs.max(), ys.min()],
        [xs.max(), ys.max()],
        [xs.min(), ys.max()],
    ]
    np.testing.assert_allclose(turned(box, turn, (40, 100))[0], expected)
    np.testing.assert_allclose(turned_back(turned(box, turn, (40, 100)), turn, (40, 100)), box)


def test_mostly_tall_counts_regions_and_their_area():
    assert not mostly_tall(np.zeros((0, 4, 2), np.float32))
    assert not mostly_tall(np.concatenate([WIDE, WIDE, WIDE]))
    assert mostly_tall(np.concatenate([WIDE, TALL]))  # half of the regions
    big_tall = TALL * 4
    assert mostly_tall(np.concatenate([WIDE, WIDE, WIDE, big_tall]))  # most of the area


def test_confident_characters_weigh_each_line_by_its_score():
    assert confident_characters(read(np.concatenate([WIDE, WIDE]), ("abcd", ""), (0.5, 0.9))) == 2
    assert confident_characters(Detections(WIDE, np.ones(1, np.float32), (100, 200))) == 0


def test_an_upright_still_is_read_once():
    """The turned passes (stand-in functions: this tests the choice, not a model) are
    never called for a still of wide regions."""
    calls: list[object] = []
    upright = read(WIDE, ("EXIT",), (0.9,))
    kept = read_upright(
        np.zeros((100, 200, 3), np.uint8), upright, calls.append, lambda *a: calls.append(a)
    )
    assert kept is upright and calls == []


def reader_box() -> np.ndarray:
    return np.array([[[10, 20], [70, 20], [70, 30], [10, 30]]], np.float32)


def stand_ins(texts: list[tuple[str, float]]):
    """A detector finding one box in any still it is given, and a reader
    reading `texts` in turn (stand-ins: no model), with what each was given."""
    seen: dict[str, list] = {"detect": [], "read": []}

    def detect(still: np.ndarray) -> Detections:
        seen["detect"].append(still.shape)
        return Detections(reader_box(), np.ones(1, np.float32), still.shape[:2])

    def read_boxes(still: np.ndarray, found: Detections) -> Detections:
        seen["read"].append((still.shape, found.boxes.copy()))
        text, score = texts[len(seen["read"]) - 1]
        return found.with_texts((text,), np.array([score], np.float32))

    return detect, read_boxes, seen


def test_the_turn_that_reads_more_is_kept_in_the_stills_pixels():
    """The still as it stands reads "ab" at 0.5; turned counter-clockwise "HEL", clockwise
    "HELLO", both at 0.9: each turn detected and read, the clockwise reading kept."""
    image = np.zeros((100, 200, 3), np.uint8)
    detect, read_boxes, seen = stand_ins([("HEL", 0.9), ("HELLO", 0.9)])
    kept = read_upright(image, read(TALL, ("ab",), (0.5,)), detect, read_boxes)
    assert seen["detect"] == [(200, 100, 3), (200, 100, 3)] and len(seen["read"]) == 2
    assert kept.texts == ("HELLO",) and kept.image_size == (100, 200)
    np.testing.assert_allclose(kept.boxes, turned_back(reader_box(), "cw", (100, 200)))
    assert kept.boxes[..., 0].max() < 200 and kept.boxes[..., 1].max() < 100


def test_a_turn_that_reads_less_leaves_the_still_as_read():
    sideways = read(TALL, ("HELLO WORLD",), (0.95,))
    detect, read_boxes, _ = stand_ins([("HE", 0.99), ("LLO", 0.99)])
    image = np.zeros((100, 200, 3), np.uint8)
    assert read_upright(image, sideways, detect, read_boxes) is sideways


def test_a_sample_picks_the_one_quarter_turn_read_whole():
    """Both quarter turns are detected; the sample (a stand-in score: counter-clockwise
    1.0, clockwise 5.0) picks clockwise, and only that still is read whole and kept."""
    image = np.zeros((100, 200, 3), np.uint8)
    detect, read_boxes, seen = stand_ins([("HELLO", 0.9)])
    sampled: list[tuple] = []

    def sample(still: np.ndarray, found: Detections) -> float:
        sampled.append(still.shape)
        return 5.0 if len(sampled) == 2 else 1.0

    kept = read_upright(image, read(TALL, ("ab",), (0.5,)), detect, read_boxes, sample=sample)
    assert seen["detect"] == [(200, 100, 3), (200, 100, 3)] and len(sampled) == 2
    assert len(seen["read"]) == 1 and kept.texts == ("HELLO",) and kept.turned == "cw"
    np.testing.assert_allclose(kept.boxes, turned_back(reader_box(), "cw", (100, 200)))


def test_the_sampled_turn_read_whole_must_still_beat_the_still_as_read():
    sideways = read(TALL, ("HELLO WORLD",), (0.95,))
    detect, read_boxes, seen = stand_ins([("HE", 0.99)])
    image = np.zeros((100, 200, 3), np.uint8)
    kept = read_upright(image, sideways, detect, read_boxes, sample=lambda *a: 1.0)
    assert kept is sideways and len(seen["read"]) == 1


def test_a_wide_still_the_vote_calls_upside_down_is_read_half_turned_too():
    """Wide regions, the vote (a stand-in) says upside down: the still turned half a turn
    is detected and read once, and kept in the still's own pixels when it reads more."""
    image = np.zeros((100, 200, 3), np.uint8)
    detect, read_boxes, seen = stand_ins([("HELLO", 0.9)])
    votes: list[Detections] = []

    def vote(still: np.ndarray, found: Detections) -> bool:
        votes.append(found)
        return True

    as_read = read(WIDE, ("OJ",), (0.6,))
    kept = read_upright(image, as_read, detect, read_boxes, vote)
    assert votes == [as_read] and seen["detect"] == [(100, 200, 3)] and len(seen["read"]) == 1
    assert kept.texts == ("HELLO",) and kept.to_dict()["turned"] == "half"
    np.testing.assert_allclose(kept.boxes, turned_back(reader_box(), "half", (100, 200)))


def test_a_still_the_vote_calls_upright_or_a_half_turn_reading_less_stays_as_read():
    image = np.zeros((100, 200, 3), np.uint8)
    as_read = read(WIDE, ("HELLO WORLD",), (0.95,))
    detect, read_boxes, seen = stand_ins([("HE", 0.99)])
    assert read_upright(image, as_read, detect, read_boxes, lambda *a: False) is as_read
    assert seen["detect"] == []
    assert read_upright(image, as_read, detect, read_boxes, lambda *a: True) is as_read
    assert len(seen["detect"]) == 1


def mixed(tall_text: str = "ab", tall_score: float = 0.5) -> Detections:
    """Two wide regions read "EXIT" and "GATE", and a tall one read `tall_text`."""
    boxes = np.concatenate([WIDE, WIDE + 20, TALL])
    return read(boxes, ("EXIT", "GATE", tall_text), (0.9, 0.9, tall_score))


def test_a_stills_tall_regions_take_the_turn_that_reads_them_best():
    """One tall region among wide ones (not mostly tall): the still is detected and read
    turned a quarter each way; the clockwise pass's wide region reads most ("HELLO") and
    takes the tall region's place, mapped back; the wide region stays as read."""
    image = np.zeros((100, 200, 3), np.uint8)
    detect, read_boxes, seen = stand_ins([("HEL", 0.9), ("HELLO", 0.9)])
    kept = read_upright(image, mixed(), detect, read_boxes)
    assert seen["detect"] == [(200, 100, 3), (200, 100, 3)]
    assert kept.texts == ("EXIT", "GATE", "HELLO") and not kept.turned
    np.testing.assert_allclose(kept.boxes[:2], np.concatenate([WIDE, WIDE + 20]))
    np.testing.assert_allclose(kept.boxes[2], turned_back(reader_box(), "cw", (100, 200))[0])
    assert kept.image_size == (100, 200) and kept.text_scores.tolist() == pytest.approx([0.9] * 3)


def test_only_the_turned_stills_wide_regions_are_read():
    """The turned still's tall regions (the still's own wide lines, read already) are
    dropped before reading: the reader gets the wide box only (stand-ins, no model)."""
    image = np.zeros((100, 200, 3), np.uint8)
    both = np.concatenate([reader_box(), np.array([[[5, 5], [9, 5], [9, 60], [5, 60]]])])
    given: list[np.ndarray] = []

    def detect(still: np.ndarray) -> Detections:
        return Detections(both.astype(np.float32), np.ones(2, np.float32), still.shape[:2])

    def read_boxes(still: np.ndarray, found: Detections) -> Detections:
        given.append(found.boxes.copy())
        return found.with_texts(("HELLO",) * len(found), np.full(len(found), 0.9, np.float32))

    kept = read_upright(image, mixed(), detect, read_boxes)
    assert len(given) == 2 and all(len(b) == 1 for b in given)
    np.testing.assert_allclose(given[0], reader_box())
    assert kept.texts == ("EXIT", "GATE", "HELLO")


def test_tall_regions_read_better_as_they_stand_stay_as_read():
    image = np.zeros((100, 200, 3), np.uint8)
    as_read = mixed("HELLO WORLD", 0.95)
    detect, read_boxes, seen = stand_ins([("HEL", 0.9), ("", 0.0)])
    assert read_upright(image, as_read, detect, read_boxes) is as_read
    assert len(seen["read"]) == 2


def test_tall_regions_read_under_a_pattern_are_not_read_turned():
    """A constrained reading (REC_PATTERN: raw texts beside the texts) is left alone."""
    image = np.zeros((100, 200, 3), np.uint8)
    boxes = np.concatenate([WIDE, WIDE + 20, TALL])
    found = Detections(boxes, np.ones(3, np.float32), (100, 200))
    texts = ("EXIT", "GATE", "ab")
    patterned = found.with_texts(texts, np.ones(3), texts, np.ones(3, bool))
    detect, read_boxes, seen = stand_ins([("HELLO", 0.99)] * 2)
    assert read_upright(image, patterned, detect, read_boxes) is patterned
    assert seen["detect"] == []


def test_take_and_extended_keep_each_boxs_reading():
    both = mixed()
    wide, tall = both.take(np.array([True, True, False])), both.take(np.array([0, 0, 1], bool))
    assert wide.texts == ("EXIT", "GATE") and tall.texts == ("ab",) and len(tall) == 1
    again = wide.extended(tall)
    np.testing.assert_allclose(again.boxes, both.boxes)
    assert again.texts == both.texts and again.text_scores.tolist() == both.text_scores.tolist()
    with pytest.raises(ValueError, match="mask"):
        both.take(np.array([True]))
    unread = Detections(WIDE, np.ones(1, np.float32), (100, 200))
    with pytest.raises(ValueError, match="plain"):
        wide.extended(unread)


def test_rec_upright_is_auto_or_off():
    assert load_settings(RecognizerSettings, {}).rec_upright == "auto"
    assert load_settings(RecognizerSettings, {"REC_UPRIGHT": "off"}).rec_upright == "off"
    with pytest.raises(ConfigError, match="REC_UPRIGHT"):
        load_settings(RecognizerSettings, {"REC_UPRIGHT": "sideways"})


@pytest.fixture(scope="module")
def readers():
    with detector_and_readers(rec_upright="off") as found:
        yield found


@pytest.mark.slow
@pytest.mark.parametrize("turn", [cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE])
def test_a_page_on_its_side_reads_as_the_upright_page(readers, page_image, turn):
    """The real models on skimage's page turned a quarter: `detect` reads every line the
    upright page reads, in the same order, its boxes tall and inside the sideways still."""
    from textdetector.commands.detect import read_image_text

    detector, auto, _ = readers
    upright = [line.text for line in read_image_text(detector, auto, page_image)[0].lines()]
    sideways = cv2.rotate(page_image, turn)
    found, timings = read_image_text(detector, auto, sideways)
    assert [line.text for line in found.lines()] == upright and len(upright) >= 6
    assert found.image_size == sideways.shape[:2] and found.to_dict()["turned"] in TURNS
    assert all(line.box[:, 0].max() <= sideways.shape[1] for line in found.lines())
    height, width = sideways.shape[:2]
    assert found.boxes[..., 0].min() >= -1 and found.boxes[..., 0].max() <= width
    assert found.boxes[..., 1].min() >= -1 and found.boxes[..., 1].max() <= height
    assert mostly_tall(found.boxes) and timings.recognition_ms > 0


@pytest.mark.slow
def test_the_http_service_reads_a_sideways_page_upright_unless_off(readers, page_image):
    """`serve`'s per-request work (in process, real models): the page turned clockwise is
    read upright with REC_UPRIGHT=auto; with off, as it stands (fewer lines match)."""
    from textdetector.serve.pool import score_image

    detector, auto, off = readers
    upright = {line.text for line in score_image(detector, auto, *png(page_image)).lines()}
    sideways = png(cv2.rotate(page_image, cv2.ROTATE_90_CLOCKWISE))
    assert {line.text for line in score_image(detector, auto, *sideways).lines()} == upright
    as_it_stands = {line.text for line in score_image(detector, off, *sideways).lines()}
    assert as_it_stands != upright


@pytest.mark.slow
def test_the_sample_scores_the_upright_quarter_of_a_sideways_page_higher(readers, page_image):
    """The real models on skimage's page turned a quarter: of its two quarter turns, the
    one that stands the page upright samples more confident characters."""
    detector, auto, _ = readers
    sideways = cv2.rotate(page_image, cv2.ROTATE_90_CLOCKWISE)
    upright_again = cv2.rotate(sideways, cv2.ROTATE_90_COUNTERCLOCKWISE)
    upside = cv2.rotate(sideways, cv2.ROTATE_90_CLOCKWISE)
    scores = [
        sample_score(auto, still, detector.detect(still)[0]) for still in (upright_again, upside)
    ]
    assert scores[0] > 2 * scores[1] > 0
    nothing = Detections(np.zeros((0, 4, 2), np.float32), np.zeros(0, np.float32), (9, 9))
    assert sample_score(auto, page_image, nothing) == 0.0


@pytest.mark.slow
def test_the_vote_calls_an_upside_down_page_and_no_upright_one(readers, page_image):
    """The real recogniser reads the page's largest regions both ways up."""
    detector, auto, _ = readers
    found = detector.detect(page_image)[0]
    assert not upside_down(auto, page_image, found)
    flipped = cv2.rotate(page_image, cv2.ROTATE_180)
    assert upside_down(auto, flipped, detector.detect(flipped)[0])
    nothing = Detections(np.zeros((0, 4, 2), np.float32), np.zeros(0, np.float32), (9, 9))
    assert not upside_down(auto, page_image, nothing)


@pytest.mark.slow
def test_an_upside_down_page_reads_as_the_upright_page(readers, page_image):
    """The real models on skimage's page turned half a turn: `detect` reads every line the
    upright page reads, in the same order, its boxes inside the still; with
    REC_UPRIGHT=off it reads as it stands (fewer lines match)."""
    from textdetector.commands.detect import read_image_text

    detector, auto, off = readers
    upright = [line.text for line in read_image_text(detector, auto, page_image)[0].lines()]
    flipped = cv2.rotate(page_image, cv2.ROTATE_180)
    found = read_image_text(detector, auto, flipped)[0]
    assert [line.text for line in found.lines()] == upright and len(upright) >= 6
    assert found.to_dict()["turned"] == "half" and found.image_size == flipped.shape[:2]
    height, width = flipped.shape[:2]
    assert found.boxes[..., 0].min() >= -1 and found.boxes[..., 0].max() <= width
    assert found.boxes[..., 1].min() >= -1 and found.boxes[..., 1].max() <= height
    as_it_stands = [line.text for line in read_image_text(detector, off, flipped)[0].lines()]
    assert len(set(as_it_stands) & set(upright)) < len(upright) // 2


@pytest.mark.slow
def test_a_mostly_tall_still_reads_its_tall_regions_one_way_before_turning(
    readers, page_image, monkeypatch
):
    """A still about to be read turned a quarter (mostly tall) is read as it stands with
    each tall region read one way only (its turns read those lines wide); an upright
    still's tall regions are still read every way (`tall_variants`)."""
    from textdetector.commands.detect import read_lines_of
    from textdetector.recognizer import upright

    detector, auto, _ = readers
    calls = []
    original = upright.read_regions

    def spy(*args, **kwargs):
        calls.append(kwargs.get("tall_variants", True))
        return original(*args, **kwargs)

    monkeypatch.setattr(upright, "read_regions", spy)
    upright_lines = read_lines_of(detector, auto, page_image)
    assert calls[0] is True
    calls.clear()
    sideways = cv2.rotate(page_image, cv2.ROTATE_90_CLOCKWISE)
    assert read_lines_of(detector, auto, sideways) == upright_lines
    assert calls == [False, True]  # as it stands, then the quarter turn its sample picked


@pytest.mark.slow
def test_a_boards_print_turned_sideways_reads_its_tall_regions_turned(readers, monkeypatch):
    """The real models on a real photo of a board's print (tuning split) turned a
    quarter: the detector merges its sideways table into few regions, some tall, not
    mostly; reading those from the still turned finds words read as it stands misses."""
    from textdetector.commands.detect import read_lines_of
    from textdetector.recognizer import upright
    from tools import eval_real

    item = next(
        i for i in eval_real.load_set(split="tune") if i.name == "luma_lcd_serial_config.jpg"
    )
    image = eval_real.load_image(item, 90)
    detector, auto, _ = readers
    turned = eval_real.score_image(item.lines, read_lines_of(detector, auto, image))
    monkeypatch.setattr(upright, "with_tall_read_turned", lambda image, read, *rest: read)
    as_it_stands = eval_real.score_image(item.lines, read_lines_of(detector, auto, image))
    assert turned.words_found >= as_it_stands.words_found + 5


def png(image: np.ndarray):
    from textdetector.serve.decode import Limits, read_header

    data = cv2.imencode(".png", image)[1].tobytes()
    return data, read_header(data, Limits(max_body_bytes=len(data), max_pixels=10**7))
