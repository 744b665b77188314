"""REC_SPELLING: an unknown word the model nearly read as a known one is read as that word.

Greedy CTC decoding takes the most probable class at each step. Where a step was
uncertain, the model's second (or third) choice there may spell a word the image's
language knows where the first choice does not: `MADID` (an R nearly as likely as the
blank between D and I: `MADRID`), `CRAEISMAN` (`CRAFTSMAN`), `CANSOMEONE` (a space
there: `CAN SOMEONE`). `Choices` keeps, per step, the few most probable classes;
`alternatives` reads the line again with one or two uncertain steps swapped to another
choice, each scored by how much less probable that path is than the greedy one.
`respell` then takes, for each word of `MIN_LETTERS` or more that the image's language
(`Accents.vote`; English when it knows none of them) does not know, not even with
other accents, the most probable alternative that changes only that word, into one or
two known words, if it is at least `MIN_RATIO` as probable as what was read. Digits,
signs and the other words of the line never change. Before that, `rejoin` takes out a
space that split a word: a letter-spaced print's `Drap eries` is `Draperies` when the
language knows the joined word but not one of the parts (`eries`), and `Fleurs -de-lys`
loses the space before its hyphen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .accents import WORD, Accents, cased, is_address, skeleton
from .ctc import decode_path

TOP = 3  # classes kept per step
UNSURE = 0.97  # a step whose first choice is below this probability may be swapped
SWAPS = 8  # at most this many swaps (step, choice) considered per line, most likely first
MIN_RATIO = 0.03  # an alternative at least this probable, relative to the greedy path
MIN_LETTERS = 5  # shorter words are too near other words to be respelled


@dataclass(frozen=True)
class Choices:
    """One line's `TOP` most probable classes per step (most probable first), their
    probabilities, and the space class's probability per step."""

    classes: np.ndarray  # (T, TOP) int
    probs: np.ndarray  # (T, TOP) float32
    space: np.ndarray  # (T,) float32

    @classmethod
    def of(cls, probs: np.ndarray, steps: int) -> Choices:
        """From one line's (T, C) class probabilities, its first `steps` steps."""
        probs = np.asarray(probs)[:steps]
        top = _top(probs)
        return cls(top, np.take_along_axis(probs, top, 1).astype(np.float32), probs[:, -1])


def _top(probs: np.ndarray) -> np.ndarray:
    """Each row's `TOP` most probable classes, most probable first, ties to the lower
    class (a stable sort's order), without sorting every class: the line's hot path."""
    if probs.shape[1] <= TOP:
        return np.argsort(-probs, axis=1, kind="stable")[:, :TOP]
    top = np.argpartition(-probs, TOP - 1, axis=1)[:, :TOP]
    values = np.take_along_axis(probs, top, 1)
    top = np.take_along_axis(top, np.lexsort((top, -values), axis=1), 1)
    tied = (probs >= values.min(axis=1, keepdims=True)).sum(axis=1) > TOP
    if tied.any():  # a class outside the chosen ones ties the last: sort those rows
        top[tied] = np.argsort(-probs[tied], axis=1, kind="stable")[:, :TOP]
    return top


def alternatives(
    choices: Choices, charset: Sequence[str], space_min: float | None
) -> list[tuple[str, float]]:
    """Other readings of the line: one or two unsure steps swapped to another choice,
    each with its path's probability relative to the greedy path (most probable first,
    each text once)."""
    swaps = _swaps(choices)
    if not swaps:
        return []
    greedy = choices.classes[:, 0]
    seen = {decode_path(greedy, choices.space, charset, space_min)[0]}
    out: list[tuple[str, float]] = []
    for size in (1, 2):
        for combo in combinations(swaps, size):
            if len({step for step, _, _ in combo}) < size:
                continue
            path = greedy.copy()
            ratio = 1.0
            for step, label, gain in combo:
                path[step] = label
                ratio *= gain
            if ratio < MIN_RATIO:
                continue
            text = decode_path(path, choices.space, charset, space_min)[0]
            if text not in seen:
                seen.add(text)
                out.append((text, ratio))
    return sorted(out, key=lambda item: -item[1])


def _swaps(choices: Choices) -> list[tuple[int, int, float]]:
    """(step, class, probability relative to the step's first choice) of the likeliest
    swaps at unsure steps."""
    first = choices.probs[:, 0]
    unsure = np.flatnonzero(first < UNSURE)
    found = [
        (int(step), int(choices.classes[step, k]), float(choices.probs[step, k] / first[step]))
        for step in unsure
        for k in range(1, choices.classes.shape[1])
        if choices.probs[step, k] >= MIN_RATIO * first[step]
    ]
    return sorted(found, key=lambda swap: -swap[2])[:SWAPS]


Options = Sequence[tuple[str, float]]


def respell(
    lists: Accents,
    texts: Sequence[str],
    options: Sequence[Options] | Callable[[int], Options],
    spaces: bool = True,
    lang: str | None = None,
) -> tuple[str, ...]:
    """`texts` (one image's lines), each `rejoin`ed, with each unknown word replaced by
    the first of its line's `options` (`alternatives`, most probable first) that differs
    from the line in that word only and reads it as one known word, or two with `spaces`
    (REC_SPACES=auto: a space put in), in their known forms. `options` may be a function
    of the line's index: it is called only for lines holding an unknown word. `lang`: the
    image's language, when already voted on (`Accents.vote`)."""
    lang = lang or lists.vote(texts) or lists.langs[0]
    out = []
    for index, text in enumerate(texts):
        joined = rejoin(lists, lang, text)
        tokens = joined.split(" ")
        todo = {i for i, token in enumerate(tokens) if _unknown(lists, lang, token)}
        found = (options(index) if callable(options) else options[index]) if todo else []
        if found and joined != text:  # the alternatives joined alike: their words line up
            found = [(rejoin(lists, lang, option), ratio) for option, ratio in found]
        out.append(_respelled(lists, lang, tokens, todo, found, 1 if spaces else 0))
    return tuple(out)


def _respelled(
    lists: Accents, lang: str, tokens: list[str], todo: set[int], options: Options, splits: int
) -> str:
    for option, _ in options:
        index, parts = _one_change(tokens, option.split(" "), splits)
        if index not in todo:
            continue
        known = [word for word in (_known(lists, lang, part) for part in parts) if word]
        if len(known) == len(parts) and _same_signs(tokens[index], parts):
            tokens[index] = " ".join(known)
            todo.discard(index)
    return " ".join(tokens)


def _one_change(tokens: list[str], other: list[str], splits: int) -> tuple[int, list[str]]:
    """The one token of `tokens` that `other` changes, and what it becomes: one token,
    or up to `splits` more (spaces put in); -1 when other tokens change too."""
    extra = len(other) - len(tokens)
    if not 0 <= extra <= splits:
        return -1, []
    for i, (a, b) in enumerate(zip(tokens, other)):
        if a != b:
            same = tokens[i + 1 :] == other[i + 1 + extra :]
            return (i, other[i : i + 1 + extra]) if same else (-1, [])
    return -1, []


def _same_signs(read: str, parts: list[str]) -> bool:
    """Whether `parts` keep `read`'s signs and digits and all but one of its letters."""
    joined = "".join(parts)
    return WORD.sub("", joined) == WORD.sub("", read) and len(joined) >= len(read) - 1


def _unknown(lists: Accents, lang: str, token: str) -> bool:
    """Whether a token holds a word of `MIN_LETTERS` or more that `lang` does not know,
    not even with other accents (an address's words are names: `is_address`)."""
    return not is_address(token) and any(
        len(word) >= MIN_LETTERS and lists.form(lang, skeleton(word)) is None
        for word in WORD.findall(token)
    )


def _known(lists: Accents, lang: str, token: str) -> str | None:
    """`token` with its words in their known forms; None when it holds no word of two
    letters or more, or one `lang` does not know."""
    words = [word for word in WORD.findall(token) if len(word) > 1]
    forms = {word: lists.form(lang, skeleton(word)) for word in words}
    if not words or any(form is None for form in forms.values()):
        return None
    return WORD.sub(lambda m: cased(m.group(0), forms.get(m.group(0)) or m.group(0)), token)


def rejoin(lists: Accents, lang: str, text: str) -> str:
    """`text` without the spaces that split a word: the two tokens joined are known
    words of `lang` (`_known`) and one of them holds a word `lang` does not know, or the
    space stands between a letter and a hyphen inside a word (`Fleurs -de-lys`)."""
    tokens = text.split(" ")
    out = tokens[:1]
    for token in tokens[1:]:
        left = out[-1]
        if _hyphen_inside(left, token) or _split_word(lists, lang, left, token):
            out[-1] = left + token
        else:
            out.append(token)
    return " ".join(out)


def _hyphen_inside(left: str, right: str) -> bool:
    """A space between a letter and a hyphen that goes on with a letter, or after it."""
    return bool(
        (right[:1] == "-" and right[1:2].isalpha() and left[-1:].isalpha())
        or (left[-1:] == "-" and left[-2:-1].isalpha() and right[:1].isalpha())
    )


def _split_word(lists: Accents, lang: str, left: str, right: str) -> bool:
    """Whether `left` + `right` is a word the space cut: letters meet at the space, the
    joined token is known and one part holds a word of two letters or more `lang`
    does not know."""
    if not (left[-1:].isalpha() and right[:1].isalpha()):
        return False
    parts = [word for part in (left, right) for word in WORD.findall(part) if len(word) > 1]
    unknown = any(lists.form(lang, skeleton(word)) is None for word in parts)
    return unknown and _known(lists, lang, left + right) is not None
