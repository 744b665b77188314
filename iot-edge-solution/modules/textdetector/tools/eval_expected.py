"""Reading what one expects: exact reads with and without REC_PATTERN, in the same run.

Sets: the rendered container-code photos (local_data/container_set/, ISO 6346 codes on
dirty corrugated walls; every fifth image held out, never used to tune) read with
REC_PATTERN=iso6346, and the fourteen-segment display set (local_data/display_set/,
DSEG14 `ABC-123`) read with REC_PATTERN='[A-Z]{3}-[0-9]{3}'; both rendered here when
missing. An image is read exactly when one of its lines, spaces dropped, is its code.
Each figure is printed beside its target, MET or MISSED.

Usage: python -m tools.eval_expected [--sets containers,display] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

from textdetector.config import LOCAL_DATA, DetectorSettings, EngineSettings, RecognizerSettings
from textdetector.errors import KitError
from tools import make_container_set, make_display_set

MODULE_DIR = Path(__file__).resolve().parent.parent

TARGET = 0.95  # exact reads with the pattern
SETS = {  # name: (generator module, truth key, pattern)
    "containers": (make_container_set, "code", "iso6346"),
    "display": (make_display_set, "text", "[A-Z]{3}-[0-9]{3}"),
}


def samples(name: str) -> list[dict]:
    """The set's truth records, each with its image under "pixels" (rendered if missing)."""
    module = SETS[name][0]
    folder = LOCAL_DATA / module.SET_NAME
    if not (folder / module.TRUTH_NAME).is_file():
        module.render(LOCAL_DATA)
    records = [json.loads(line) for line in (folder / module.TRUTH_NAME).open(encoding="utf-8")]
    for record in records:
        record["pixels"] = cv2.imread(str(folder / record["image"]), cv2.IMREAD_COLOR)
    return records


def read_all(records: list[dict], pattern: str) -> list[list[str]]:
    """Each image's lines (spaces dropped), through the module's detector and reader."""
    from textdetector.detector.detector import TextDetector
    from textdetector.recognizer import TextRecognizer, read_regions

    settings = RecognizerSettings(rec_pattern=pattern)
    with (
        TextDetector.open(EngineSettings(), DetectorSettings()) as det,
        TextRecognizer.open(settings) as rec,
    ):
        found = []
        for record in records:
            detections, _ = det.detect(record["pixels"])
            (read,), _ = read_regions(rec, [record["pixels"]], [detections])
            found.append([line.text.replace(" ", "") for line in read.lines()])
        return found


def rate(records: list[dict], found: list[list[str]], key: str, split: str | None) -> float:
    pairs = [(r, f) for r, f in zip(records, found) if split is None or r.get("split") == split]
    return sum(r[key] in f for r, f in pairs) / max(len(pairs), 1)


def evaluate(name: str) -> dict:
    _, key, pattern = SETS[name]
    records = samples(name)
    stock, constrained = read_all(records, ""), read_all(records, pattern)
    splits = [None] + sorted({r["split"] for r in records if "split" in r})
    report = {"images": len(records), "pattern": pattern}
    for split in splits:
        label = split or "all"
        report[label] = {
            "stock": rate(records, stock, key, split),
            "pattern": rate(records, constrained, key, split),
            "count": sum(split is None or r.get("split") == split for r in records),
        }
    return report


def show(name: str, report: dict) -> None:
    print(f"\n{name}: {report['images']} images, REC_PATTERN={report['pattern']!r}", flush=True)
    for label, figures in report.items():
        if not isinstance(figures, dict):
            continue
        met = "MET" if figures["pattern"] >= TARGET else "MISSED"
        print(
            f"  {label:9s} ({figures['count']:3d}) exact reads: stock {figures['stock']:.3f}, "
            f"with the pattern {figures['pattern']:.3f}  target >= {TARGET:.3f}  {met}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma list of " + ", ".join(SETS))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    if unknown := [n for n in names if n not in SETS]:
        parser.error(f"unknown set {unknown[0]!r}")
    results = {}
    try:
        for name in names:
            results[name] = evaluate(name)
            show(name, results[name])
    except (KitError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
