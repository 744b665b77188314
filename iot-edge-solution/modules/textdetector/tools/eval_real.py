"""Reading quality on real photos: this project's default against RapidOCR 3.10 defaults.

The real-scene set (evaluation/real_scenes/: photos and video frames from registry
packages, hand-checked line transcriptions, tags and a fixed tune/test split) is read by
both readers in one run. Per tag and overall it prints word recall (each truth word,
case-folded and stripped of edge punctuation, found at most once among the words read),
exact lines (a truth line equal to a line read, spaces normalised) and CER (each truth
line against the closest line read; a line read by nothing costs its length) and junk
(the share of lines read that hold no word of any truth line: what recall alone would
not show), with the issue's targets beside the test-split figures, and writes the table
to bench-results/. With both readers it also gives, per tag, the difference in word
recall with a 95 % interval (a paired bootstrap over the images): how far a category of a
few images can be trusted.

Usage: python -m tools.eval_real [--split test|tune|all] [--readers ours,rapidocr3]
                                  [--json FILE] [--turn 90|180|270]
`--turn` reads every image turned that many degrees clockwise (a label photographed on
its side or upside down); the issue's targets are for the images as they stand, so the
verdicts are left out and the table goes to its own file.
Settings (DET_*, REC_*, MODEL_PATH, ENGINE ...) are read from the environment as `run`
and `detect` read them, so a variant is measured by setting its variables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MODULE_DIR = Path(__file__).resolve().parent.parent
SET_DIR = MODULE_DIR / "evaluation" / "real_scenes"
RESULTS = MODULE_DIR.parent.parent.parent / "bench-results"
TARGET_RECALL = 0.90
TARGET_MARGIN = 0.05  # over RapidOCR 3.10 defaults, word recall on the test split
CONFIDENCE = 0.95  # the recall difference's interval
RESAMPLES = 9999  # bootstrap resamples of the images (seeded: the same interval every run)
Reader = Callable[[np.ndarray], list[str]]
TURNS = {
    0: None,
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


@dataclass(frozen=True)
class Item:
    """One labelled image of the set."""

    name: str
    split: str
    tags: tuple[str, ...]
    lines: tuple[str, ...]
    path: Path


@dataclass
class Score:
    """Counts that add up over images; the rates are derived."""

    images: int = 0
    words: int = 0
    words_found: int = 0
    lines: int = 0
    lines_exact: int = 0
    chars: int = 0
    char_errors: int = 0
    read: int = 0
    junk: int = 0
    seconds: float = 0.0

    def add(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def recall(self) -> float:
        return self.words_found / max(self.words, 1)

    @property
    def exact(self) -> float:
        return self.lines_exact / max(self.lines, 1)

    @property
    def cer(self) -> float:
        return self.char_errors / max(self.chars, 1)

    @property
    def junk_rate(self) -> float:
        return self.junk / max(self.read, 1)

    def as_dict(self) -> dict[str, float]:
        return {
            "images": self.images,
            "words": self.words,
            "word_recall": self.recall,
            "lines": self.lines,
            "exact_lines": self.exact,
            "cer": self.cer,
            "lines_read": self.read,
            "junk_lines": self.junk_rate,
            "seconds": self.seconds,
        }


def load_set(folder: Path = SET_DIR, split: str = "all") -> list[Item]:
    """The labelled images of `split` (test, tune or all), in file order."""
    labels = folder / "labels.jsonl"
    if not labels.is_file():
        raise FileNotFoundError(f"no real-scene labels at {labels}")
    items = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if split in ("all", record["split"]):
            items.append(
                Item(
                    record["image"],
                    record["split"],
                    tuple(record["tags"]),
                    tuple(record["lines"]),
                    folder / "images" / record["image"],
                )
            )
    return items


def normalise_line(text: str) -> str:
    """NFC, single spaces, no edge spaces: how lines are compared for exactness and CER."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def words(text: str) -> list[str]:
    """Case-folded words with edge punctuation stripped (inner marks kept: 1,250 or O'Neil)."""
    out = []
    for token in normalise_line(text).casefold().split():
        token = token.strip(".,;:!?\"'()[]{}<>«»“”„‘’‚-–—_/\\|*")
        if token:
            out.append(token)
    return out


def score_image(truth: Sequence[str], read: Sequence[str]) -> Score:
    """Word recall counts, exact lines and character errors of one image's readings."""
    from rapidfuzz.distance import Levenshtein

    truth = [normalise_line(t) for t in truth if normalise_line(t)]
    read = [normalise_line(r) for r in read if normalise_line(r)]
    available = Counter(w for line in read for w in words(line))
    wanted = Counter(w for line in truth for w in words(line))
    found = sum(min(count, available[w]) for w, count in wanted.items())
    exact = sum(line in read for line in truth)
    errors = sum(min([Levenshtein.distance(line, r) for r in read] + [len(line)]) for line in truth)
    junk = sum(not set(words(line)) & wanted.keys() for line in read)
    return Score(
        1,
        sum(wanted.values()),
        found,
        len(truth),
        exact,
        sum(len(line) for line in truth),
        errors,
        len(read),
        junk,
    )


@dataclass(frozen=True)
class Gap:
    """Word recall of one reader minus another's over some images, with its interval."""

    images: int
    difference: float
    low: float
    high: float


def recall_gap(ours: Sequence[Score], theirs: Sequence[Score]) -> Gap:
    """Our word recall minus theirs over the same images (paired), with a CONFIDENCE
    interval from a percentile bootstrap that resamples images (scipy.stats.bootstrap,
    seeded). With one image, or the same words found on every image, there is nothing to
    resample: the interval is the point."""
    from scipy import stats

    found = np.array([s.words_found for s in ours], float)
    peer = np.array([s.words_found for s in theirs], float)
    total = np.array([s.words for s in ours], float)

    def difference(a: np.ndarray, b: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
        return (a.sum(axis=axis) - b.sum(axis=axis)) / np.maximum(n.sum(axis=axis), 1)

    point = float(difference(found, peer, total))
    if len(found) < 2 or np.all(found - peer == 0):
        return Gap(len(found), point, point, point)
    result = stats.bootstrap(
        (found, peer, total),
        difference,
        paired=True,
        vectorized=True,
        confidence_level=CONFIDENCE,
        n_resamples=RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    interval = result.confidence_interval
    return Gap(len(found), point, float(interval.low), float(interval.high))


def scores_of(
    items: Sequence[Item], readings: Sequence[list[str]], seconds: Sequence[float] = ()
) -> list[Score]:
    """Each image's score, with its reading time when given, in order."""
    scores = [score_image(item.lines, read) for item, read in zip(items, readings)]
    for score, spent in zip(scores, seconds):
        score.seconds = spent
    return scores


def gaps(items: Sequence[Item], ours: Sequence[Score], theirs: Sequence[Score]) -> dict[str, Gap]:
    """`recall_gap` per tag, plus "overall"."""
    keys = ["overall"] + sorted({t for item in items for t in item.tags})
    return {
        key: recall_gap(
            [s for item, s in zip(items, ours) if key == "overall" or key in item.tags],
            [s for item, s in zip(items, theirs) if key == "overall" or key in item.tags],
        )
        for key in keys
    }


def gap_lines(split: str, table: dict[str, Gap]) -> Iterable[str]:
    """The differences as a list (not a table: the charts read tables as recall)."""
    yield (
        f"Word recall, {LABELS['ours']} minus {LABELS['rapidocr3']}, {split} split, with a "
        f"{CONFIDENCE:.0%} interval (paired bootstrap over the images, {RESAMPLES} "
        "resamples; an interval that holds 0 is a difference these images cannot show):"
    )
    for key, gap in table.items():
        yield (
            f"- {key} ({gap.images} images): {gap.difference:+.3f} "
            f"[{gap.low:+.3f}, {gap.high:+.3f}]"
        )
    yield ""


def tally(
    items: Sequence[Item], readings: Sequence[list[str]], seconds: Sequence[float]
) -> dict[str, Score]:
    """Scores per tag, plus "overall"."""
    return tally_scores(items, scores_of(items, readings, seconds))


def tally_scores(items: Sequence[Item], scores: Sequence[Score]) -> dict[str, Score]:
    """Images' scores (`scores_of`) added up per tag, plus "overall"."""
    table: dict[str, Score] = {"overall": Score()}
    for item, one in zip(items, scores):
        for key in ("overall", *item.tags):
            table.setdefault(key, Score()).add(one)
    return table


def our_reader() -> tuple[Reader, Callable[[], None]]:
    """This project's `detect` path with the settings of the environment."""
    from textdetector.commands.detect import read_lines_of

    return _ours(read_lines_of)


def our_frame_reader() -> tuple[Reader, Callable[[], None]]:
    """This project's video path: each image detected as the run detects a frame (one
    pass, DET_FRAME_MAX_SIDE_LEN) and its regions read as a frame's (no still passes)."""
    from textdetector.recognizer.reading import read_regions

    def read(detector: Any, recognizer: Any, image: np.ndarray) -> list[str]:
        found = detector.detect_batch([image])[0][0]
        return [line.text for line in read_regions(recognizer, [image], [found])[0][0].lines()]

    return _ours(read, frames=True)


def our_boxes() -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[], None]]:
    """The (N, 4, 2) boxes this project's `detect` path reads in a still."""
    from textdetector.commands.detect import read_image_text

    return _ours(
        lambda detector, recognizer, image: read_image_text(detector, recognizer, image)[0].boxes
    )


def _ours(
    use: Callable, frames: bool = False
) -> tuple[Callable[[np.ndarray], Any], Callable[[], None]]:
    """`use(detector, recognizer, image)` on the module's models, opened with the
    settings of the environment (`frames`: the detector as the run opens it), and the
    function that closes them."""
    from textdetector.config import (
        DetectorSettings,
        EngineSettings,
        RecognizerSettings,
        TritonSettings,
        load,
    )
    from textdetector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer

    engine = load(EngineSettings)
    detector = TextDetector.open(
        engine, load(DetectorSettings), load(TritonSettings), "dynamic", frames=frames
    )
    recognizer = TextRecognizer.open(load(RecognizerSettings), engine)

    def close() -> None:
        detector.close()
        recognizer.close()

    return (lambda image: use(detector, recognizer, image)), close


def rapidocr3_reader() -> tuple[Reader, Callable[[], None]]:
    """RapidOCR 3.10.0 at its defaults (models from its own wheel, offline)."""
    from . import harness

    texts = harness.rapidocr3()
    return (lambda image: [t for t in texts(image) if t]), lambda: None


READERS = {"ours": our_reader, "rapidocr3": rapidocr3_reader, "frames": our_frame_reader}
LABELS = {
    "ours": "this project (default)",
    "rapidocr3": "RapidOCR 3.10.0 defaults",
    "frames": "this project, read as video frames",
}


def load_image(item: Item, turn: int = 0) -> np.ndarray:
    """One image of the set as BGR, turned `turn` degrees clockwise (`TURNS`)."""
    image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{item.path} missing or unreadable")
    code = TURNS[turn]
    return image if code is None else np.ascontiguousarray(cv2.rotate(image, code))


def run_reader(
    name: str, items: Sequence[Item], turn: int = 0
) -> tuple[list[list[str]], list[float]]:
    reader, close = READERS[name]()
    readings, seconds = [], []
    try:
        reader(np.full((64, 64, 3), 255, np.uint8))  # warm-up
        for item in items:
            image = load_image(item, turn)
            start = time.perf_counter()
            readings.append(reader(image))
            seconds.append(time.perf_counter() - start)
    finally:
        close()
    return readings, seconds


def table_lines(split: str, tables: dict[str, dict[str, Score]], turn: int = 0) -> Iterable[str]:
    names = list(tables)
    keys = ["overall"] + sorted({k for t in tables.values() for k in t} - {"overall"})
    head = " | ".join(f"{LABELS[n]}: recall / exact / CER / junk" for n in names)
    turned = f", every image turned {turn} degrees clockwise" if turn else ""
    yield f"### {split} split{turned}\n"
    yield f"| tag | images | words | {head} |"
    yield "|---|---|---|" + "---|" * len(names)
    for key in keys:
        first = tables[names[0]].get(key, Score())
        cells = " | ".join(_cell(t.get(key, Score())) for t in tables.values())
        yield f"| {key} | {first.images} | {first.words} | {cells} |"
    yield ""


def _cell(score: Score) -> str:
    return f"{score.recall:.3f} / {score.exact:.3f} / {score.cer:.3f} / {score.junk_rate:.3f}"


def verdicts(tables: dict[str, dict[str, Score]]) -> Iterable[str]:
    """The issue's targets on the test split, each MET or MISSED beside its figure."""
    if set(tables) != {"ours", "rapidocr3"}:
        return
    ours, theirs = tables["ours"], tables["rapidocr3"]
    ok = ours["overall"].recall >= TARGET_RECALL
    yield (
        f"- word recall {ours['overall'].recall:.3f} (target >= {TARGET_RECALL:.2f}): "
        f"{'MET' if ok else 'MISSED'}"
    )
    want = theirs["overall"].recall + TARGET_MARGIN
    ok = ours["overall"].recall >= want - 1e-9
    yield (
        f"- against RapidOCR 3.10 {theirs['overall'].recall:.3f} + {TARGET_MARGIN:.2f} = "
        f"{want:.3f}: {'MET' if ok else 'MISSED'}"
    )
    worse = [k for k in theirs if k != "overall" and ours[k].recall < theirs[k].recall - 1e-9]
    yield (
        f"- no category worse than RapidOCR 3.10: "
        f"{'MET' if not worse else 'MISSED (' + ', '.join(worse) + ')'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "tune", "all"), default="all")
    parser.add_argument(
        "--readers", default="ours,rapidocr3", help="comma list of: " + ", ".join(READERS)
    )
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    parser.add_argument(
        "--table", type=Path, default=RESULTS / "eval-real.md", help="the table's file"
    )
    parser.add_argument("--show", action="store_true", help="print every image's lines")
    parser.add_argument(
        "--turn",
        type=int,
        choices=sorted(TURNS),
        default=0,
        help="read every image turned this many degrees clockwise (no target verdicts; "
        "default table: bench-results/eval-real-turn<N>.md)",
    )
    args = parser.parse_args(argv)
    if args.turn and args.table == RESULTS / "eval-real.md":
        args.table = RESULTS / f"eval-real-turn{args.turn}.md"
    names = [n.strip() for n in args.readers.split(",") if n.strip()]
    if not names or any(n not in READERS for n in names):
        parser.error("--readers takes a comma list of " + ", ".join(READERS))
    items = load_set(split=args.split)
    runs = {name: run_reader(name, items, args.turn) for name in names}
    report, text = {}, ["## Real-scene reading quality\n"]
    differences: dict[str, dict] = {}
    scores = {n: scores_of(items, *runs[n]) for n in names}
    for split in ["tune", "test"] if args.split == "all" else [args.split]:
        chosen = [i for i, item in enumerate(items) if item.split == split]
        part = [items[i] for i in chosen]
        mine = {n: [scores[n][i] for i in chosen] for n in names}
        tables = {n: tally_scores(part, mine[n]) for n in names}
        text += list(table_lines(split, tables, args.turn))
        if split == "test" and not args.turn:
            text += list(verdicts(tables)) + [""]
        report[split] = {n: {k: s.as_dict() for k, s in t.items()} for n, t in tables.items()}
        if {"ours", "rapidocr3"} <= set(names):
            table = gaps(part, mine["ours"], mine["rapidocr3"])
            text += list(gap_lines(split, table))
            differences[split] = {k: asdict(g) for k, g in table.items()}
    for name in names:
        total = sum(runs[name][1])
        text.append(f"{LABELS[name]}: {total:.1f} s for {len(items)} images")
    if args.show:
        for i, item in enumerate(items):
            print(f"{item.name} [{item.split}] truth={list(item.lines)}")
            for name in names:
                print(f"   {name}: {runs[name][0][i]}")
    print("\n".join(text))
    args.table.parent.mkdir(parents=True, exist_ok=True)
    args.table.write_text("\n".join(text) + "\n", encoding="utf-8")
    if args.json:
        if differences:
            report["recall_difference"] = differences
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
