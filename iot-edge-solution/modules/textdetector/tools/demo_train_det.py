"""`make demo-train-det`: teach the detector what it misses on real photos, measured on
photos it never saw.

Builds a `train-det` folder from the real-scene set's tune split
(tools/make_real_det_set.py: the boxes drawn by hand for text the shipped detector
misses there, everything it finds marked "do not care"), runs `train-det` on it as a
user would (the command line, timed), then reads the set's test split (never tuned or
trained on) with the shipped detector and with the fine-tuned one (`DET_MODEL_DIR`),
beside RapidOCR 3.10 at its defaults, and runs the gates (the demo video and the
rendered set within 1 point). Each figure is printed beside its target, MET or
MISSED: the issue's (test word recall >= 0.90 and >= RapidOCR + 0.05, no tag below
RapidOCR); the table goes to bench-results/train-det-real.md and .json.

Usage: python -m tools.demo_train_det [--work DIR] [-- ARGS for train-det: --alpha 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from textdetector.training import gate
from tools import make_real_det_set
from tools.demo_train import train
from tools.harness import RESULTS, machine, markdown, write_json, write_text

MODULE_DIR = Path(__file__).resolve().parent.parent
WORK = MODULE_DIR / "local_data" / "train_det_real"
RECALL_TARGET, LEAD_TARGET = 0.90, 0.05  # the real-photo reading issue's targets
# The default merge rule (0.4 here) costs the rendered set 2.4 points, one more than its
# gate allows; 0.3 passes every gate (docs/training.md). Flags after `--` replace it.
TRAIN_ARGS = ["--alpha", "0.3"]
TABLE = ("test split tag", "shipped", "fine-tuned", "RapidOCR 3.10", "target", "")


def test_split(readers: str, det_model_dir: Path | None, out: Path) -> dict:
    """`tools/eval_real.py --split test` in a process of its own (DET_MODEL_DIR set or
    not); its figures per reader and tag."""
    env = dict(os.environ)
    env.pop("DET_MODEL_DIR", None)
    if det_model_dir is not None:
        env["DET_MODEL_DIR"] = str(det_model_dir)
    command = [sys.executable, "-m", "tools.eval_real", "--split", "test"]
    command += ["--readers", readers, "--json", str(out), "--table", str(out.with_suffix(".md"))]
    subprocess.run(command, cwd=MODULE_DIR, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))["test"]


def rows(stock: dict, tuned: dict, peer: dict) -> list[tuple[str, ...]]:
    """(tag, shipped, fine-tuned, RapidOCR, target, verdict) word recall rows."""
    out: list[tuple[str, ...]] = []
    for tag, figures in tuned.items():
        before, after = stock[tag]["word_recall"], figures["word_recall"]
        best = peer[tag]["word_recall"]
        goal = max(RECALL_TARGET, best + LEAD_TARGET) if tag == "overall" else best
        met = verdict(after >= goal - 1e-9)
        out.append((tag, f"{before:.3f}", f"{after:.3f}", f"{best:.3f}", f">= {goal:.3f}", met))
    return out


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else TRAIN_ARGS
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=WORK, help="dataset and model folder")
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    data, model = args.work / "dataset", args.work / "model"
    count, drawn, ignored = make_real_det_set.build(data)
    print(f"built {data}: {count} tune photos, {drawn} drawn boxes, {ignored} found (###)")
    shutil.rmtree(model, ignore_errors=True)
    seconds = train(data, model, extra, "train-det")
    both = test_split("ours,rapidocr3", None, args.work / "test-shipped.json")
    tuned = test_split("ours", model, args.work / "test-tuned.json")
    table = rows(both["ours"], tuned["ours"], both["rapidocr3"])
    figures = gate.gate(model, data, sets=("demo_video", "eval_set"))
    for tag, before, after, best, target, met in table:
        print(f"test {tag}: {before} -> {after} (RapidOCR {best}; target {target}): {met}")
    for figure in figures:
        print(figure.line())
    manifest = json.loads((model / "manifest.json").read_text(encoding="utf-8"))
    header = (
        "## Detector fine-tuned on the real photos' tune split, read on the test split\n\n"
        f"{machine()}; {count} tune photos, {drawn} drawn boxes; train-det "
        f"{seconds / 60:.1f} min, merged at alpha {manifest.get('merge', {}).get('alpha')}\n\n"
    )
    gates = [(f.name, f"{f.stock:.3f}", f"{f.tuned:.3f}", verdict(f.met)) for f in figures]
    write_text(
        RESULTS / "train-det-real.md",
        header
        + markdown(
            ("test split tag", "shipped", "fine-tuned", "RapidOCR 3.10", "target", ""), table
        )
        + "\n"
        + markdown(("gate", "shipped", "fine-tuned", ""), gates),
    )
    write_json(
        RESULTS / "train-det-real.json",
        {
            "train_seconds": seconds,
            "merge": manifest.get("merge", {}),
            "test": {**both, "fine_tuned": tuned["ours"]},
            "gates": [f.__dict__ | {"met": f.met} for f in figures],
        },
    )
    return 0 if all(f.met for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
