"""REC_ACCENTS: accents set by word lists, after reading (`Accents.restore`).

The recogniser often gets a word's letters right and its accents wrong: `dúchod` for
`důchod`, `televizni` for `televizní`, and in English text `shíp` for `ship` (an i's dot
read as an acute). Word lists of thirteen Latin-script languages (wordfreq's, derived at
set-up into one file, `build`) decide: the language most of an image's words belong to is
chosen, and each word that language does not know, but knows with other accents (the same
letters once accents are taken off: its *skeleton*), takes that language's most frequent
such form, in the case it was read in. Letters themselves never change, known words are
left alone, and a word no list knows keeps its reading (names, codes).

The lists are held as sorted 32-bit hashes, not as Python strings: per language, the
skeletons whose most frequent form is the skeleton itself (`ship`), those whose most
frequent form has accents (`duchod`, with `důchod` spelled out), and the words that are
not their skeleton's most frequent form (`byt` beside `být`), which are known too. About
13 MB for 1.7 million words. A hash shared by two words (about 1 in 10,000 lookups)
at worst leaves a word as read or takes a known plain form; an accented form is used
only when its skeleton is the word's.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError

FORMAT = 2  # bump when `build`'s output changes, so set-up builds the file again
MIN_ZIPF = 2.0  # words at least this frequent (a word per 10**7) are kept
PARTS = ("plain", "accented", "starts", "ends", "variants")
WORD = re.compile(r"[^\W\d_]+")  # a run of letters
# A web or e-mail address: a scheme, an @ before a name, a leading www., or a lower-case
# host name (`denik.cz`, `shop-name.co.uk/menu`): its letters are names, not words.
ADDRESS = re.compile(r"://|\w@\w|^\W*www\.", re.IGNORECASE)
HOST = re.compile(r"^\W*[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,6}(?:/\S*)?\W*$")
# Letters whose accent is not a combining mark: taken to their plain letter, one for one.
PLAIN = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t"})


def is_address(token: str) -> bool:
    """Whether a token (no spaces) is a web or e-mail address (`www.pelhrimovsky.denik.cz`,
    `info@shop.de`): accents and spelling leave its letters as read."""
    return bool(ADDRESS.search(token) or HOST.match(token))


def skeleton(word: str) -> str:
    """The word case-folded and without accents: `Důchod` -> `duchod`."""
    folded = unicodedata.normalize("NFD", word.casefold().translate(PLAIN))
    return unicodedata.normalize("NFC", "".join(c for c in folded if not unicodedata.combining(c)))


def word_hash(words: Iterable[str]) -> np.ndarray:
    """32-bit BLAKE2b of each word (UTF-8), as uint32."""
    digests = b"".join(hashlib.blake2b(w.encode(), digest_size=4).digest() for w in words)
    return np.frombuffer(digests, "<u4").astype(np.uint32)


def read_wordfreq(data: bytes) -> list[list[str]]:
    """wordfreq's gzipped msgpack list: words in buckets of one centibel of frequency,
    most frequent first (bucket i holds words of frequency 10**(-i/100))."""
    import msgpack

    buckets = msgpack.unpackb(gzip.decompress(data), raw=False)
    if not buckets or not isinstance(buckets[0], dict) or buckets[0].get("format") != "cB":
        raise ModelError("not a wordfreq cB word list")
    return buckets[1:]


def build(lists: Mapping[str, bytes], source: str) -> dict[str, np.ndarray]:
    """The arrays `Accents` reads, from each language's wordfreq list (`lists`: language
    code -> the gzipped list); `source` names what they came from (recorded)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "source": np.array(source),
        "langs": np.array(sorted(lists, key=lambda lang: (lang != "en", lang))),
    }
    last = round((9.0 - MIN_ZIPF) * 100)  # zipf = 9 - bucket / 100
    for lang, data in lists.items():
        best: dict[str, str] = {}
        variants = []
        for bucket in read_wordfreq(data)[: last + 1]:  # most frequent first
            for word in filter(WORD.fullmatch, bucket):
                key = skeleton(word)
                if key in best:
                    variants.append(word)
                else:
                    best[key] = word
        accented = [(key, form) for key, form in best.items() if form != key]
        encoded = [form.encode() for _, form in accented]
        keys = word_hash(key for key, _ in accented)
        order = np.argsort(keys, kind="stable")
        ends = np.cumsum([len(e) for e in encoded], dtype=np.int64).astype(np.uint32)
        arrays[f"{lang}.plain"] = np.unique(word_hash(k for k, f in best.items() if f == k))
        arrays[f"{lang}.accented"] = keys[order]
        arrays[f"{lang}.ends"] = ends[order]
        arrays[f"{lang}.starts"] = (ends - [len(e) for e in encoded]).astype(np.uint32)[order]
        arrays[f"{lang}.text"] = np.frombuffer(b"".join(encoded), np.uint8)
        arrays[f"{lang}.variants"] = np.unique(word_hash(variants))
    return arrays


class Accents:
    """The word lists `build` wrote, and the rule that sets accents by them."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        if int(arrays["format"]) != FORMAT:
            raise ModelError("accent word lists of an older format: run set-up again")
        self.langs = [str(lang) for lang in arrays["langs"]]
        self.lists = {
            lang: {part: arrays[f"{lang}.{part}"] for part in PARTS} for lang in self.langs
        }
        self.text = {lang: arrays[f"{lang}.text"].tobytes() for lang in self.langs}

    @classmethod
    def load(cls, path: Path) -> Accents:
        """The file set-up wrote (`ModelError`, one line, when it is missing or broken);
        loaded once per process while the file stays as it is."""
        path = path.resolve()
        return _load(path, path.stat().st_mtime_ns if path.is_file() else 0)

    def language(self, words: Sequence[str]) -> str | None:
        """The language whose list knows most of `words` (case-folded); None: none."""
        return self._language(_Words(words))

    def _language(self, found: _Words) -> str | None:
        counts = [int(found.weights[self.known(lang, found)].sum()) for lang in self.langs]
        best = int(np.argmax(counts)) if counts else 0
        return self.langs[best] if counts and counts[best] > 0 else None

    def known(self, lang: str, found: _Words) -> np.ndarray:
        """Which of `found`'s words `lang`'s list holds."""
        lists = self.lists[lang]
        known = found.plain & _member(lists["plain"], found.skeleton_hashes)
        known |= _member(lists["variants"], found.hashes)
        for index in np.flatnonzero(~known & ~found.plain):  # accented: spelled out
            known[index] = self.form(lang, found.skeletons[index]) == found.words[index]
        return known

    def vote(self, texts: Sequence[str]) -> str | None:
        """The language of one image's readings: the one whose list knows most of their
        words of two letters or more (case-folded); None when no list knows any."""
        texts = [unicodedata.normalize("NFC", t) for t in texts]
        found = _Words([w.casefold() for t in texts for w in WORD.findall(t) if len(w) > 1])
        return self._language(found) if found.words else None

    def restore(self, texts: Sequence[str], lang: str | None = None) -> tuple[str, ...]:
        """`texts` (one image's readings) with each word's accents set by its language
        (`lang`, when already voted on; None: `vote`)."""
        texts = [unicodedata.normalize("NFC", t) for t in texts]
        lang = lang or self.vote(texts)
        if lang is None:
            return tuple(texts)
        found = _Words([w.casefold() for t in texts for w in WORD.findall(t) if len(w) > 1])
        # A word is known when it is its skeleton's most frequent form or a variant of it;
        # one lookup per word gives both that and the form it should take.
        variants = _member(self.lists[lang]["variants"], found.hashes)
        fixes = {}
        for word, key, variant in zip(found.words, found.skeletons, variants):
            form = self.form(lang, key)
            if form is not None and form != word and not variant:
                fixes[word] = form
        if not fixes:
            return tuple(texts)

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            form = fixes.get(word.casefold())
            return word if form is None else cased(word, form)

        return tuple(
            " ".join(w if is_address(w) else WORD.sub(fix, w) for w in t.split(" ")) for t in texts
        )

    def form(self, lang: str, key: str) -> str | None:
        """The most frequent word of `lang` whose skeleton is `key`, if it knows one."""
        lists, digest = self.lists[lang], word_hash([key])
        if _member(lists["plain"], digest)[0]:
            return key
        index = int(np.searchsorted(lists["accented"], digest[0]))
        if index >= len(lists["accented"]) or lists["accented"][index] != digest[0]:
            return None
        start, end = int(lists["starts"][index]), int(lists["ends"][index])
        form = self.text[lang][start:end].decode()
        return form if skeleton(form) == key else None


class _Words:
    """Distinct case-folded words, how often each came, their skeletons and hashes."""

    def __init__(self, words: Sequence[str]) -> None:
        counts = Counter(words)
        self.words = sorted(counts)
        self.weights = np.array([counts[w] for w in self.words], np.int64)
        self.skeletons = [skeleton(w) for w in self.words]
        self.plain = np.array([w == k for w, k in zip(self.words, self.skeletons)], bool)
        self.hashes = word_hash(self.words)
        self.skeleton_hashes = word_hash(self.skeletons)


@lru_cache(maxsize=4)
def _load(path: Path, stamp: int) -> Accents:
    if not path.is_file():
        raise ModelError(
            f"accent word lists not found: {path}; run `make setup` at the repository root "
            "(or `python tools/fetch_models.py`), or set REC_ACCENTS=off"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            return Accents({name: data[name] for name in data.files})
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"accent word lists unreadable ({type(exc).__name__}): {path}; "
            "delete it and run `make setup`"
        ) from None


def _member(sorted_hashes: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    index = np.searchsorted(sorted_hashes, hashes).clip(0, max(len(sorted_hashes) - 1, 0))
    return sorted_hashes[index] == hashes if len(sorted_hashes) else np.zeros(len(hashes), bool)


def cased(read: str, form: str) -> str:
    """`form` in the case `read` was read in (upper, capitalised, or letter by letter)."""
    if read.isupper():
        return form.upper()
    if len(read) == len(form):
        return "".join(f.upper() if r.isupper() else f for r, f in zip(read, form))
    return form[:1].upper() + form[1:] if read[:1].isupper() else form
