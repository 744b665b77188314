"""`make demo-train`: teach the recogniser fourteen-segment displays, end to end.

Renders the DSEG14 line-crop dataset (tools/make_train_set.py: train, val and a held-out
test split), runs `train-rec` on it as a user would (the command line, timed), then reads
the held-out test split with the stock and the fine-tuned model through the module's own
recogniser and runs the gates (textdetector/training/gate.py: the evaluation sets within
1 point). Each figure is printed beside its target, MET or MISSED; the table goes to
bench-results/train-demo.md and .json.

Usage: python -m tools.demo_train [--work DIR] [--sets demo_video,eval_set,real_scenes]
                                  [--step N] [ARGS for train-rec after --]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from textdetector.config import LOCAL_DATA, REC_DIR_MODEL
from textdetector.training import gate
from tools import make_train_set
from tools.harness import RESULTS, machine, markdown, write_json, write_text

MODULE_DIR = Path(__file__).resolve().parent.parent
WORK = MODULE_DIR / "local_data" / "train_demo"
TRAIN_MINUTES = 10.0
TEST_TARGET, TEST_GAIN = 0.95, 0.30  # exact test lines: >= 0.95 or +0.30, the lower


def cpu_seconds() -> float:
    """CPU time (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(data: Path, out: Path, extra: list[str], name: str = "train-rec") -> float:
    """`main.py train-rec` (or `name`: train-det) as a user runs it; seconds taken (exit
    on failure)."""
    command = [sys.executable, str(MODULE_DIR / "main.py"), name]
    command += ["--data", str(data), "--out", str(out), *extra]
    print("$ " + " ".join(command[1:]), flush=True)
    start = time.monotonic()
    done = subprocess.run(command, cwd=MODULE_DIR, check=False)
    if done.returncode != 0:
        sys.exit(f"error: {name} exited with {done.returncode}")
    return time.monotonic() - start


def rows(figures: dict) -> list[tuple[str, str, str, str, str]]:
    """(figure, before, after, target, verdict) rows of the table."""
    test_goal = min(TEST_TARGET, figures["test_stock"] + TEST_GAIN)
    out = [
        (
            "held-out test exact lines",
            f"{figures['test_stock']:.3f}",
            f"{figures['test_tuned']:.3f}",
            f">= {test_goal:.3f}",
            "MET" if figures["test_tuned"] >= test_goal - 1e-9 else "MISSED",
        ),
        (
            "train-rec minutes (2 cores)",
            "",
            f"{figures['train_seconds'] / 60:.1f}",
            f"<= {TRAIN_MINUTES:.0f}",
            "MET" if figures["train_seconds"] <= TRAIN_MINUTES * 60 else "MISSED",
        ),
    ]
    out.append(
        (
            "train-rec CPU minutes (what an idle machine takes)",
            "",
            f"{figures['train_cpu_seconds'] / 60:.1f}",
            "",
            "",
        )
    )
    alpha = figures.get("merge", {}).get("alpha")
    if alpha is not None:
        out.append(("weights merged back towards the shipped ones: alpha", "", f"{alpha}", "", ""))
    for figure in figures["gates"]:
        target = figure.line().split("(target ")[1].split(")")[0]
        out.append(
            (
                figure.name,
                f"{figure.stock:.3f}",
                f"{figure.tuned:.3f}",
                target,
                "MET" if figure.met else "MISSED",
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=WORK, help="dataset and model folder")
    parser.add_argument("--sets", default=",".join(gate.SETS), help="evaluation sets gated")
    parser.add_argument("--step", type=int, default=5, help="every Nth demo video frame")
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    data, model = args.work / "dataset", args.work / "model"
    shutil.rmtree(args.work, ignore_errors=True)
    make_train_set.render(data)
    print(f"rendered {data}: " + ", ".join(f"{n} {s}" for s, n in make_train_set.COUNTS.items()))
    load = os.getloadavg()[0]
    cpu = cpu_seconds()
    seconds = train(data, model, extra)
    cpu = cpu_seconds() - cpu
    manifest = json.loads((model / "manifest.json").read_text())
    stock = LOCAL_DATA / manifest["base_model"]
    figures = {
        "merge": manifest.get("merge", {}),
        "train_seconds": seconds,
        "train_cpu_seconds": cpu,
        "load_average_at_start": load,
        "test_stock": gate.domain_exact(stock, data, "test"),
        "test_tuned": gate.domain_exact(model / REC_DIR_MODEL, data, "test"),
        "gates": gate.gate(model, data, "val", tuple(args.sets.split(",")), args.step),
    }
    table = rows(figures)
    for name, before, after, target, verdict in table:
        goal = f" (target {target}): {verdict}" if target else ""
        print(f"{name}: {before + ' -> ' if before else ''}{after}{goal}")
    header = f"## Fine-tuning demo (DSEG14 displays)\n\n{machine()}, load average {load:.1f}\n\n"
    write_text(
        RESULTS / "train-demo.md",
        header + markdown(("figure", "stock", "fine-tuned", "target", ""), table),
    )
    write_json(
        RESULTS / "train-demo.json",
        {**figures, "gates": [f.__dict__ | {"met": f.met} for f in figures["gates"]]},
    )
    return 0 if all(row[-1] in ("MET", "") for row in table) else 1


if __name__ == "__main__":
    sys.exit(main())
