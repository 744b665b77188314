"""REC_SPELLING: unknown words respelled from the model's second choices and words a
space split joined again (recognizer/spelling.py), on step probabilities and word lists
built here, and on real images of the real-scene set with the real models."""

from __future__ import annotations

import gzip
from pathlib import Path

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recognition_support import detector_and_readers

from textdetector.recognizer import accents, spelling
from textdetector.recognizer.accents import Accents
from textdetector.recognizer.ctc import greedy_decode
from textdetector.recognizer.spelling import Choices, alternatives, rejoin, respell

CHARSET = ("", *"ADIMRabcdeilmnorstu", " ")


def lists_of(**langs: tuple[str, ...]) -> Accents:
    """Word lists in wordfreq's own format (one word per bucket, most frequent first)."""
    data = {
        lang: gzip.compress(msgpack.packb([{"format": "cB", "version": 1}, *[[w] for w in words]]))
        for lang, words in langs.items()
    }
    return Accents(accents.build(data, "test lists"))


@pytest.fixture(scope="module")
def small() -> Accents:
    return lists_of(
        en=("the", "to", "madrid", "bus", "milieu", "modern", "is", "cold", "mod"),
        es=("el", "de", "madrid", "autobús"),
    )


def line(*steps: dict[str, float]) -> np.ndarray:
    """(T, C) step probabilities: each step's listed classes ("" is the blank), the rest
    of the mass spread evenly over the other classes."""
    probs = np.zeros((len(steps), len(CHARSET)), np.float32)
    for row, step in zip(probs, steps):
        rest = (1.0 - sum(step.values())) / (len(CHARSET) - len(step))
        row[:] = rest
        for char, p in step.items():
            row[CHARSET.index(char)] = p
    return probs


# "MADID": between the D and the I an R is nearly as likely as the blank there.
MADID = line(
    {"M": 0.99}, {"": 0.99}, {"A": 0.98}, {"D": 0.99}, {"": 0.55, "R": 0.4}, {"I": 0.97},
    {"": 0.99}, {"D": 0.99},
)  # fmt: skip


def test_alternatives_swap_unsure_steps_and_say_how_likely():
    choices = Choices.of(MADID, len(MADID))
    assert greedy_decode(MADID[None], CHARSET)[0][0] == "MADID"
    found = dict(alternatives(choices, CHARSET, None))
    assert found["MADRID"] == pytest.approx(0.4 / 0.55, rel=1e-5)
    assert "MADID" not in found  # the greedy reading itself is not an alternative
    assert all(spelling.MIN_RATIO <= ratio < 1.0 for ratio in found.values())
    assert list(found.values()) == sorted(found.values(), reverse=True)


def test_a_sure_line_has_no_alternatives():
    sure = line({"b": 0.999}, {"u": 0.999}, {"s": 0.999})
    assert alternatives(Choices.of(sure, 3), CHARSET, None) == []


def test_an_unlikely_second_choice_is_no_alternative():
    steps = MADID.copy()
    steps[4] = line({"": 0.95, "R": 0.02})[0]  # unsure, but R 0.02 / 0.95 below MIN_RATIO
    found = dict(alternatives(Choices.of(steps, len(steps)), CHARSET, None))
    assert "MADRID" not in found


def test_choices_keep_only_the_line_steps():
    padded = np.concatenate([MADID, line({"": 0.5, "u": 0.45})])
    assert Choices.of(padded, len(MADID)).classes.shape == (len(MADID), spelling.TOP)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda cols: st.lists(
            st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.5]), min_size=cols, max_size=cols),
            min_size=1,
            max_size=5,
        )
    )
)
def test_top_choices_are_a_stable_sort_s_first(rows):
    """The partial selection of each step's likeliest classes equals a full stable sort,
    ties included (few distinct values make many)."""
    probs = np.array(rows, np.float32)
    expected = np.argsort(-probs, axis=1, kind="stable")[:, : spelling.TOP]
    assert np.array_equal(spelling._top(probs), expected)


def test_an_unknown_word_becomes_the_known_alternative(small):
    options = [[("Bus to MADRID", 0.7), ("Bus to MADIS", 0.9)], []]
    assert respell(small, ["Bus to MADID", "cold"], options) == ("Bus to MADRID", "cold")


def test_an_address_is_never_respelled(small):
    """`madid.de` would be `madrid.de` (two known words) if it were not a host name."""
    options = [[("el madrid.de", 0.7)], [("el madrid de", 0.7)]]
    assert respell(small, ["el madid.de", "el madid de"], options) == (
        "el madid.de",
        "el madrid de",
    )


def test_known_short_and_multi_word_changes_are_refused(small):
    texts = ["the modern bus", "the mdern 12", "to Madid", "the xbus tx", "to mdrn"]
    options = [
        [("the madrid bus", 0.9)],  # "modern" is known: stays
        [("the modern 12", 0.9)],  # "mdern" is 5 letters, unknown, and becomes known
        [("to Madrid", 0.9)],  # "Madid" is unknown: 5 letters is enough
        [("the bus is", 0.9)],  # two tokens change
        [("to modern", 0.9)],  # "mdrn" is shorter than MIN_LETTERS
    ]
    assert respell(small, texts, options) == (
        "the modern bus",
        "the modern 12",
        "to Madrid",
        texts[3],
        texts[4],
    )


def test_digits_and_signs_never_change(small):
    texts = ["MADID7 bus", "MA-DID bus", "M1/MADID bus"]
    options = [[("MADRID bus", 0.9)], [("MADRID bus", 0.9)], [("M1/MADRID bus", 0.9)]]
    assert respell(small, texts, options) == ("MADID7 bus", "MA-DID bus", "M1/MADRID bus")


def test_words_take_their_known_form_and_case(small):
    assert respell(small, ["el autobis de MADID"], [[("el autobús de MADID", 0.5)]]) == (
        "el autobús de MADID",
    )
    assert respell(small, ["Mitieu modern"], [[("Milieu modern", 0.5)]]) == ("Milieu modern",)


def test_a_space_the_model_hinted_at_splits_an_unknown_word(small):
    assert respell(small, ["ISCOLD bus"], [[("IS COLD bus", 0.05)]]) == ("IS COLD bus",)
    assert respell(small, ["ISCOLD"], [[("IS COLD", 0.05)]]) == ("IS COLD",)
    assert respell(small, ["modern"], [[("mod ern", 0.5)]]) == ("modern",)  # known: stays
    assert respell(small, ["ISCOLDX"], [[("IS COLD X", 0.5)]]) == ("ISCOLDX",)  # two spaces
    # REC_SPACES=off: plain greedy decoding, no space put in
    assert respell(small, ["ISCOLD"], [[("IS COLD", 0.05)]], spaces=False) == ("ISCOLD",)


def test_with_no_known_word_the_first_language_decides(small):
    """An image whose only word is misread still has a language: the first (English)."""
    assert respell(small, ["MODEN", "7"], [[("MODERN", 0.2)], []]) == ("MODERN", "7")


def test_a_space_that_split_a_known_word_is_taken_out(small):
    """Joined only when the joined token is known and a part is not."""
    texts = ["the mod ern bus", "Mil ieu cold", "is cold", "to bus", "zz yy", "mod ern7"]
    assert respell(small, texts, [[] for _ in texts]) == (
        "the modern bus",
        "Milieu cold",  # both parts unknown, the word known
        "is cold",  # both known: two words
        "to bus",
        "zz yy",  # "zzyy" is no word either
        "modern7",  # letters meet at the space; the digit stays
    )
    # the same with REC_SPACES=off: the model's own spaces split words too
    assert respell(small, ["the mod ern bus"], [[]], spaces=False) == ("the modern bus",)
    # a word after the join is still respelled from the line's alternatives
    options = [[("the mod ern MADRID", 0.5)]]
    assert respell(small, ["the mod ern MADID"], options) == ("the modern MADRID",)


def test_a_space_beside_a_hyphen_inside_a_word_is_taken_out(small):
    texts = ["Fleurs -de-lys", "au- dessous", "cold - modern", "- cold", "10 -20", "bus -7"]
    assert [rejoin(small, "en", t) for t in texts] == [
        "Fleurs-de-lys",
        "au-dessous",
        "cold - modern",  # a dash between words keeps its spaces
        "- cold",
        "10 -20",
        "bus -7",
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["the", "mod", "ern", "Mil", "ieu", "-de", "7", "zz", "-", ""])))
def test_rejoin_only_takes_spaces_out(small, tokens):
    """Rejoining changes no character but a space (and a joined word's known form,
    here the same letters); a join is a known word a space split, or at a hyphen
    (never two known words: `themod`)."""
    text = " ".join(tokens)
    out = rejoin(small, "en", text)
    assert out.replace(" ", "") == text.replace(" ", "")
    assert len(out.split(" ")) <= max(len(tokens), 1)
    pieces = {t.lower() for t in tokens} | {"", "de", "modern", "milieu"}
    for token in out.split(" "):
        if token not in tokens:  # a join: of a word a space split, or at a hyphen
            assert all(piece.lower() in pieces for piece in token.split("-")), token


LINES = ["the Madid bus", "mdern 7", "zzzzz to", "", "milieu", "ISCOLD 1"]
OPTIONS = ["the Madrid bus", "modern 7", "madrid to", "x y z", "IS COLD 1", "IS COLD", "mil ieu"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(LINES),
            st.lists(st.tuples(st.sampled_from(OPTIONS), st.floats(0.03, 1.0)), max_size=3),
        ),
        max_size=5,
    )
)
def test_only_unknown_words_ever_change(small, cases):
    """Each line keeps its place, its digits and signs; a word that changes was unknown
    and at least MIN_LETTERS long, and becomes one or two known words."""
    texts = [text for text, _ in cases]
    out = respell(small, texts, [options for _, options in cases])
    assert len(out) == len(texts)
    for before, after in zip(texts, out):
        signs = [accents.WORD.sub("", t).replace(" ", "") for t in (before, after)]
        assert signs[0] == signs[1]
        old, new = set(before.split(" ")), set(after.split(" "))
        for gone in old - new:
            assert any(
                len(w) >= spelling.MIN_LETTERS and small.form("en", accents.skeleton(w)) is None
                for w in accents.WORD.findall(gone)
            )
        for came in new - old:
            words = [w for w in accents.WORD.findall(came) if len(w) > 1]
            assert words and all(small.form("en", accents.skeleton(w)) for w in words)


@pytest.mark.slow
def test_a_real_bus_destination_is_respelled_unless_off():
    """The real models on a bus photo of the real-scene set (tune split): the
    destination sign reads MADID as it stands; the model's second choice gives the R."""
    import cv2

    from textdetector.commands.detect import read_lines_of

    still = Path(__file__).resolve().parents[2] / "evaluation/real_scenes/images/bus.jpg"
    image = cv2.imread(str(still))
    with detector_and_readers(rec_spelling="off") as (detector, auto, off):
        as_read = " ".join(read_lines_of(detector, off, image))
        respelled = " ".join(read_lines_of(detector, auto, image))
    assert "MADID" in as_read.split()
    assert "MADRID" in respelled.split() and "MADID" not in respelled.split()


@pytest.mark.slow
def test_a_real_letter_spaced_print_is_read_joined_unless_off():
    """The real models on a 1783 print of the real-scene set (tune split): its letter
    spacing makes the model read a space inside `plusieurs` and `Draperies`."""
    import cv2

    from textdetector.commands.detect import read_lines_of

    still = Path(__file__).resolve().parents[2] / "evaluation/real_scenes/images/balloon.jpf"
    image = cv2.imread(str(still))
    with detector_and_readers(rec_spelling="off") as (detector, auto, off):
        as_read = " ".join(read_lines_of(detector, off, image)).split()
        joined = " ".join(read_lines_of(detector, auto, image)).split()
    assert "lusieurs" in as_read and "eries" in as_read
    assert "plusieurs" in joined and "Draperies" in joined and "lusieurs" not in joined
