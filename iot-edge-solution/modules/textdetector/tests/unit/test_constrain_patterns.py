"""REC_PATTERN automata: regular expressions, built-ins, ISO 6346 check digits, binding
to a model dictionary and the start-up errors (hand-made dictionaries, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from textdetector.recognizer.constrain import PatternError, bind, can_match, compile_pattern
from textdetector.recognizer.constrain.extension import extended, incomplete
from textdetector.recognizer.constrain.iso6346 import check_digit, is_valid
from textdetector.recognizer.ctc import allowed_classes, charset_from_metadata

LATIN = charset_from_metadata({"character": "\n".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")})


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("[A-Z]{3}-[0-9]{3}", ["ABC-123"], ["AB-123", "ABC-1234", "abc-123", "ABC123"]),
        ("(AB|CD)+X?", ["AB", "ABCDX", "CDCD"], ["", "X", "ABX X" + "Y"]),
        (r"\d{2,4}", ["12", "1234"], ["1", "12345", "1a"]),
        ("meter", ["1234", "12.5", "0,125"], ["12.", ".5", "123456789"]),
        ("date", ["31.12.2024", "2024-02-29", "01/06/1999"], ["32.12.2024", "2024-13-01"]),
    ],
)
def test_patterns_match_whole_lines(pattern, yes, no):
    automaton = compile_pattern(pattern)
    assert all(automaton.accepts(text) for text in yes)
    assert not any(automaton.accepts(text) for text in no)


def test_spaces_are_optional_unless_written():
    assert compile_pattern("[A-Z]{3}-[0-9]{3}").accepts("ABC - 123")
    written = compile_pattern("[A-Z]+ [0-9]+")
    assert written.accepts("AB 12") and not written.accepts("AB12")


@pytest.mark.parametrize("code", ["CSQU3054383", "MSKU7654323", "TGHU8719052"])
def test_iso6346_codes_with_the_right_check_digit(code):
    assert check_digit(code) == int(code[10]) or not is_valid(code)
    assert compile_pattern("iso6346").accepts(code) == is_valid(code)


def test_iso6346_known_code_and_every_serial_misread_rejected():
    code = "CSQU3054383"  # the standard's own example
    assert check_digit(code) == 3 and is_valid(code)
    automaton = compile_pattern("ISO6346")
    assert automaton.accepts(code) and automaton.accepts("CSQU 305438 3")
    for position in range(4, 11):
        for digit in "0123456789":
            if digit != code[position]:
                misread = code[:position] + digit + code[position + 1 :]
                assert not automaton.accepts(misread), misread
    assert not automaton.accepts("CSQA3054383")  # category must be U, J or Z


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[A-Z", "invalid regular expression"),
        ("(?P<x>A)(?P=x)", "unsupported regular expression"),
        ("iso6347", "unknown built-in pattern 'iso6347'"),
    ],
)
def test_bad_patterns_say_why(pattern, message):
    with pytest.raises(PatternError, match=message):
        compile_pattern(pattern)


def test_binding_keeps_only_the_classes_the_pattern_uses():
    bound = bind(compile_pattern("[0-9]{3}"), LATIN, None)
    assert bound.labels == ("", *"0123456789")
    assert bound.space is not None and bound.table.shape[1] == 11
    assert can_match(bound)


def test_a_pattern_the_dictionary_cannot_read_matches_nothing():
    assert not can_match(bind(compile_pattern("[αβ]+"), LATIN, None))
    digits_only = allowed_classes(LATIN, "all", "0-9")
    assert not can_match(bind(compile_pattern("[A-Z]{3}"), LATIN, digits_only))
    assert can_match(bind(compile_pattern("(AB)*"), LATIN, None))


def test_allowed_chars_narrow_the_language():
    allowed = allowed_classes(LATIN, "latin", "A-C.")
    assert [LATIN[i] for i in allowed] == ["", "A", "B", "C", ".", " "]


def test_an_unfinished_beginning_is_worth_a_second_read():
    automaton = compile_pattern("iso6346")
    assert incomplete(automaton, "CSQU 305438")
    assert incomplete(automaton, "CSQU 305438[")  # a frame edge read as a bracket
    assert not incomplete(automaton, "CSQU3054383")  # complete
    assert not incomplete(automaton, "EXIT")  # not a beginning
    assert not incomplete(automaton, "CS")  # too short to tell


def test_extension_pushes_the_right_edge_along_the_line_within_the_image():
    quad = np.float32([[10, 10], [110, 10], [110, 30], [10, 30]])
    grown = extended(quad, (100, 200, 3))
    assert grown[1, 0] == pytest.approx(110 + 1.6 * 20) and grown[0, 0] == 10
    assert extended(quad, (100, 120, 3))[1, 0] == 119  # clipped to the image
