"""REC_PATTERN in the dashboard: the archive's `pattern`, `matched` and `rawtexts`
metadata parsed onto the frame and shown beside each reading."""

from __future__ import annotations

from reviewdashboard.frames import parse_frame
from reviewdashboard.pages import text_list

NAME = "8200000000000_gate_00000001.jpg"
META = {
    "boxes": "1,2,3,4,5,6,7,8;9,9,9,9,9,9,9,9",
    "texts": "CSQU3054383,EXIT",
    "textscores": "0.91,0.98",
    "pattern": "iso6346",
    "matched": "1,0",
    "rawtexts": "CSQU%203O5438%203,EXIT",
}


def test_pattern_metadata_is_parsed():
    frame = parse_frame("annotated", NAME, META)
    assert frame.pattern == "iso6346" and frame.matched == [True, False]
    assert frame.raw_texts == ["CSQU 3O5438 3", "EXIT"]


def test_readings_show_the_match_and_the_raw_reading():
    html = text_list(parse_frame("annotated", NAME, META))
    assert "CSQU3054383 <span class=match>(iso6346, read CSQU 3O5438 3)</span>" in html
    assert "EXIT <span class=unread>(no iso6346 match)</span>" in html


def test_without_a_pattern_nothing_is_added():
    plain = {k: v for k, v in META.items() if k not in ("pattern", "matched", "rawtexts")}
    frame = parse_frame("annotated", NAME, plain)
    assert frame.pattern == "" and "span" not in text_list(frame)
