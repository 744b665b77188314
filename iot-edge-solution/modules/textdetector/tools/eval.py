"""Measure recognition accuracy against ground truth, with the targets beside each figure.

Sets: the demo video (local_data/demo_video.gt.jsonl) and the rendered evaluation set
(local_data/eval_set/, rendered here when missing). For each: detection recall and
precision (a truth line counts as found by the box overlapping it with IoU >= 0.5),
exact line accuracy, character error rate (missed lines count as unread), string parity
with RapidOCR's recogniser (and classifier) run on the same crops of the same boxes, and
recognition time, with and without the angle classifier and the recovered word spaces
(REC_SPACES), for one or several model sets (MODEL_SET) side by side. Each figure with a
target is printed with it and MET or MISSED.

Usage: python -m tools.eval [--step N] [--images N] [--cls off|on|both]
                             [--spaces auto|off|both] [--model-set ppocrv4,ppocrv6]
                             [--rec-model FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from textdetector.config import (
    DEFAULT_MODEL,
    LOCAL_DATA,
    DetectorSettings,
    EngineSettings,
    RecognizerSettings,
    load,
)
from textdetector.errors import KitError
from textdetector.models import MODEL_SETS
from textdetector.recognizer.events import as_xyxy, iou

MODULE_DIR = Path(__file__).resolve().parent.parent

MIN_IOU = 0.5
TARGETS = {"demo_video": {"exact_lines": 0.95, "cer": 0.02}}  # per set
PARITY_TARGET = 0.98


@dataclass
class Sample:
    """One image with its truth lines (text, x0 y0 x1 y1) and our detected boxes."""

    name: str
    image: np.ndarray
    truth: list[tuple[str, tuple[float, ...]]]
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2), np.float32))


def match(truth_boxes: list, found: np.ndarray, min_iou: float = MIN_IOU) -> dict[int, int]:
    """Truth index -> detection index, pairs with IoU >= min_iou, best overlaps first."""
    bounds = as_xyxy(found)
    pairs = sorted(
        ((iou(t, d), ti, di) for ti, t in enumerate(truth_boxes) for di, d in enumerate(bounds)),
        reverse=True,
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for overlap, ti, di in pairs:
        if overlap >= min_iou and ti not in matched and di not in used:
            matched[ti] = di
            used.add(di)
    return matched


def line_scores(samples: list[Sample], texts: list[tuple[str, ...]]) -> dict[str, float]:
    """Detection recall/precision, exact line accuracy (also ignoring spaces), CER."""
    from rapidfuzz.distance import Levenshtein

    truths = found = hits = exact = loose = errors = chars = 0
    for sample, read in zip(samples, texts):
        matched = match([box for _, box in sample.truth], sample.boxes)
        truths += len(sample.truth)
        found += len(sample.boxes)
        hits += len(matched)
        for ti, (text, _) in enumerate(sample.truth):
            guess = read[matched[ti]] if ti in matched else ""
            exact += guess == text
            loose += guess.replace(" ", "") == text.replace(" ", "")
            errors += Levenshtein.distance(guess, text)
            chars += len(text)
    return {
        "lines": truths,
        "recall": hits / max(truths, 1),
        "precision": hits / max(found, 1),
        "exact_lines": exact / max(truths, 1),
        "exact_lines_ignoring_spaces": loose / max(truths, 1),
        "cer": errors / max(chars, 1),
    }


def demo_samples(step: int) -> list[Sample]:
    truth_path = LOCAL_DATA / "demo_video.gt.jsonl"
    truth = [json.loads(line) for line in truth_path.read_text(encoding="utf-8").splitlines()]
    capture = cv2.VideoCapture(str(LOCAL_DATA / "demo_video.mp4"))
    samples = []
    for record in truth:
        ok, image = capture.read()
        if not ok:
            break
        if record["frame"] % step == 0:
            lines = [(line["text"], tuple(line["box"])) for line in record["lines"]]
            samples.append(Sample(f"frame {record['frame']}", image, lines))
    capture.release()
    return samples


def eval_set_samples(limit: int) -> list[Sample]:
    from . import make_eval_set

    folder = LOCAL_DATA / make_eval_set.SET_NAME
    if not (folder / make_eval_set.TRUTH_NAME).is_file():
        make_eval_set.render(LOCAL_DATA)
    samples = []
    for line in (folder / make_eval_set.TRUTH_NAME).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        image = cv2.imread(str(folder / record["image"]), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"{folder / record['image']} missing or unreadable")
        truth = [(t["text"], tuple(t["box"])) for t in record["lines"]]
        samples.append(Sample(record["image"], image, truth))
    return samples[:limit] if limit else samples


@dataclass(frozen=True)
class Mode:
    """One recogniser configuration measured: model set (or model file), classifier, spaces."""

    use_cls: bool
    spaces: str
    model_set: str = RecognizerSettings().model_set
    rec_model: Path | None = None
    padding: str = RecognizerSettings().rec_padding  # REC_PADDING (`main`: as `run` reads it)
    short: float = RecognizerSettings().rec_min_score_short  # REC_MIN_SCORE_SHORT, likewise
    accents: str = RecognizerSettings().rec_accents  # REC_ACCENTS, likewise
    spelling: str = RecognizerSettings().rec_spelling  # REC_SPELLING, likewise

    @property
    def model(self) -> str:
        return self.rec_model.stem if self.rec_model else self.model_set

    @property
    def key(self) -> str:
        return f"{self.model}+cls_{'on' if self.use_cls else 'off'}+spaces_{self.spaces}"

    def settings(self) -> RecognizerSettings:
        return RecognizerSettings(
            use_angle_cls=self.use_cls,
            rec_spaces=self.spaces,
            model_set=self.model_set,
            rec_model_path=self.rec_model,
            rec_padding=self.padding,
            rec_min_score_short=self.short,
            rec_accents=self.accents,
            rec_spelling=self.spelling,
        )

    @property
    def as_rapidocr(self) -> bool:
        """Batches padded, short readings kept and words left as RapidOCR does: string
        parity holds."""
        return (
            self.padding == "batch" and self.short == 0 and self.accents == self.spelling == "off"
        )


def ours(samples: list[Sample], mode: Mode, threads: int) -> tuple[list, float, int, int]:
    """Our readings per image; recognition seconds, model calls, crops."""
    from textdetector.recognizer import TextRecognizer

    with TextRecognizer.open(mode.settings(), EngineSettings(threads=threads)) as rec:
        rec.recognize(samples[0].image, samples[0].boxes)  # warm-up
        calls = rec.calls
        start = time.perf_counter()
        texts = [rec.recognize(s.image, s.boxes).texts for s in samples]
        seconds = time.perf_counter() - start
        return texts, seconds, rec.calls - calls, sum(len(s.boxes) for s in samples)


def rapid(samples: list[Sample], settings: RecognizerSettings) -> tuple[list, float]:
    """RapidOCR 1.4.4 at our settings: its own crops of our boxes, its cls and rec."""
    from rapidocr_onnxruntime import RapidOCR

    use_cls = settings.use_angle_cls
    engine = RapidOCR(
        use_cls=use_cls,
        text_score=settings.rec_min_score,
        rec_batch_num=settings.rec_batch,
        cls_batch_num=settings.rec_batch,
        rec_model_path=str(settings.rec_model),
        cls_model_path=str(settings.cls_model_path),
        det_model_path=str(DEFAULT_MODEL),
    )
    crops = [engine.get_crop_img_list(s.image, list(s.boxes)) for s in samples]
    engine.text_rec(crops[0][:1] or [np.zeros((48, 48, 3), np.uint8)])  # warm-up
    texts: list[tuple[str, ...]] = []
    start = time.perf_counter()
    for image_crops in crops:
        if not image_crops:
            texts.append(())
            continue
        if use_cls:
            image_crops, _, _ = engine.text_cls(image_crops)
        results, _ = engine.text_rec(image_crops)
        texts.append(tuple(t if s >= settings.rec_min_score else "" for t, s in results))
    return texts, time.perf_counter() - start


def parity(mine: list, theirs: list, ignore_spaces: bool = False) -> float:
    """Share of regions read as the same string (optionally with spaces taken out)."""

    def plain(text: str) -> str:
        return text.replace(" ", "") if ignore_spaces else text

    pairs = [(a, b) for x, y in zip(mine, theirs) for a, b in zip(x, y)]
    return sum(plain(a) == plain(b) for a, b in pairs) / max(len(pairs), 1)


def evaluate(
    name: str, samples: list[Sample], modes: list[Mode], threads: int, with_parity: bool
) -> dict:
    from textdetector.detector import TextDetector

    engine = dataclasses.replace(load(EngineSettings), threads=threads)  # DET_* as `run` reads them
    frames = name == "demo_video"  # detected as `run` detects frames: one pass, frame cap
    with TextDetector.open(engine, load(DetectorSettings), frames=frames) as detector:
        for sample in samples:
            if frames:
                sample.boxes = detector.detect_batch([sample.image])[0][0].boxes
            else:
                sample.boxes = detector.detect(sample.image)[0].boxes
    report: dict = {"images": len(samples)}
    reference: dict[tuple[str, bool], tuple[list, float]] = {}
    for mode in modes:
        texts, seconds, calls, crops = ours(samples, mode, threads)
        entry = {
            **line_scores(samples, texts),
            "crops": crops,
            "rec_calls": calls,
            "ms_per_crop": 1000 * seconds / max(crops, 1),
            "crops_per_call": crops / max(calls, 1),
            "padding": mode.padding,
            "min_score_short": mode.short,
            "as_rapidocr": mode.as_rapidocr,
        }
        if with_parity:
            which = (mode.model, mode.use_cls)
            if which not in reference:
                reference[which] = rapid(samples, mode.settings())
            theirs, their_seconds = reference[which]
            entry["parity_with_rapidocr"] = parity(texts, theirs)
            entry["parity_with_rapidocr_ignoring_spaces"] = parity(texts, theirs, True)
            entry["rapidocr_ms_per_crop"] = 1000 * their_seconds / max(crops, 1)
        report[mode.key] = entry
    return report


def verdict(label: str, value: float, target: float | None) -> str:
    """'  target >= 0.950  MET' (or <=, MISSED); '' without a target."""
    if target is None:
        return ""
    at_most = label.startswith("character")
    met = value <= target if at_most else value >= target
    return f"  target {'<=' if at_most else '>='} {target:.3f}  {'MET' if met else 'MISSED'}"


def show(name: str, report: dict) -> None:
    targets = TARGETS.get(name, {})
    print(f"\n{name}: {report['images']} images", flush=True)
    for key, r in report.items():
        if key == "images":
            continue
        model, cls, spaces = key.rsplit("+", 2)
        cls, spaces = cls.removeprefix("cls_"), spaces.removeprefix("spaces_")
        print(
            f"  {model}, angle classifier {cls}, REC_SPACES={spaces}, REC_PADDING="
            f"{r['padding']}, REC_MIN_SCORE_SHORT={r['min_score_short']}: {r['lines']} truth "
            f"lines, {r['crops']} regions"
        )
        rows = [
            ("detection recall (IoU>=0.5)", r["recall"], None),
            ("detection precision (IoU>=0.5)", r["precision"], None),
            ("exact line accuracy", r["exact_lines"], targets.get("exact_lines")),
            ("  ... ignoring spaces", r["exact_lines_ignoring_spaces"], None),
            ("character error rate", r["cer"], targets.get("cer")),
        ]
        if "parity_with_rapidocr" in r:
            # string for string only with RapidOCR's batches (REC_PADDING=batch), its
            # score rule (REC_MIN_SCORE_SHORT=0) and words as read (REC_ACCENTS=off,
            # REC_SPELLING=off)
            target = PARITY_TARGET if r["as_rapidocr"] else None
            rows += [
                ("lines identical to RapidOCR", r["parity_with_rapidocr"], target),
                ("  ... ignoring spaces", r["parity_with_rapidocr_ignoring_spaces"], None),
            ]
        for label, value, target in rows:
            print(f"    {label:32s} {value:7.3f}{verdict(label, value, target)}")
        speed = (
            f"    recognition {r['ms_per_crop']:.1f} ms/crop, {r['crops_per_call']:.1f} crops/call"
        )
        if "rapidocr_ms_per_crop" in r:
            speed += f" (RapidOCR on the same crops: {r['rapidocr_ms_per_crop']:.1f} ms/crop)"
        print(speed)


def chosen_sets(names: str | None) -> list[str]:
    """The model sets named in a comma list (unknown names: ConfigError), else MODEL_SET's."""
    if names is None:
        return [load(RecognizerSettings).model_set]
    return [
        load(RecognizerSettings, {"MODEL_SET": name}).model_set
        for name in dict.fromkeys(n.strip() for n in names.split(","))
        if name
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=1, help="every Nth demo frame (default 1)")
    parser.add_argument(
        "--images", type=int, default=0, help="first N images of the evaluation set (default all)"
    )
    parser.add_argument(
        "--cls",
        choices=("off", "on", "both"),
        default="both",
        help="angle classifier setting(s) to measure (default both)",
    )
    parser.add_argument(
        "--spaces",
        choices=("auto", "off", "both"),
        default="both",
        help="REC_SPACES setting(s) to measure (default both)",
    )
    parser.add_argument(
        "--model-set",
        default=None,
        help="comma list of model sets to measure side by side: "
        + ", ".join(MODEL_SETS)
        + " (default: MODEL_SET's)",
    )
    parser.add_argument(
        "--rec-model",
        type=Path,
        default=None,
        help="a recognition model file instead of the model sets",
    )
    parser.add_argument(
        "--sets", default="demo_video,eval_set", help="comma list of demo_video, eval_set"
    )
    parser.add_argument("--no-parity", action="store_true", help="skip the RapidOCR comparison")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.step < 1 or args.images < 0:
        parser.error("--step must be >= 1 and --images >= 0")
    both = {"off": ["off"], "on": ["on"], "auto": ["auto"], "both": None}
    cls_modes = both[args.cls] or ["off", "on"]
    space_modes = both[args.spaces] or ["off", "auto"]
    try:
        model_sets = chosen_sets(args.model_set)[: 1 if args.rec_model else None]
    except KitError as exc:
        parser.error(str(exc))
    run_settings = load(RecognizerSettings)
    modes = [
        Mode(
            cls == "on",
            spaces,
            model_set,
            args.rec_model,
            run_settings.rec_padding,
            run_settings.rec_min_score_short,
            run_settings.rec_accents,
            run_settings.rec_spelling,
        )
        for model_set in model_sets
        for cls in cls_modes
        for spaces in space_modes
    ]
    loaders = {
        "demo_video": lambda: demo_samples(args.step),
        "eval_set": lambda: eval_set_samples(args.images),
    }
    results = {}
    try:
        for name in [n.strip() for n in args.sets.split(",") if n.strip()]:
            if name not in loaders:
                parser.error(f"unknown set {name!r}")
            results[name] = evaluate(name, loaders[name](), modes, args.threads, not args.no_parity)
            show(name, results[name])
    except (KitError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
