"""PNG charts of the benchmark and evaluation results in bench-results/ (matplotlib, Agg).

Usage: python -m tools.charts [RESULTS_FOLDER]   (default: the repository's bench-results/)

Each chart is drawn from the results file its tool wrote, beside it, so a chart is made
again without running the benchmark again; a results file that is missing is skipped:

  bench_engines.json  -> engines.png    make bench SECTION=engines (tools/bench_engines.py)
  streams.json        -> streams.png    make bench SECTION=streams (tools/bench_streams.py)
  reuse.json          -> reuse.png      make bench SECTION=reuse   (tools/bench_reuse.py)
  eval-real.json      -> eval-real.png  make eval                  (tools/eval_real.py;
                                        or its table, eval-real.md)

`make bench` (every section) and `make eval` run this after writing their tables.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .harness import RESULTS  # noqa: E402

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100  # every chart: 800 x 450 pixels
SIZE = (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))  # (width, height)
OURS, PEER, THIRD = "#2e7d32", "#9e9e9e", "#1565c0"
READER_NAMES = {"ours": "this project", "rapidocr3": "RapidOCR 3.10", "rapidocr": "RapidOCR 1.4"}


def _figure(columns: int = 1) -> tuple[Figure, list[Axes]]:
    figure, axes = plt.subplots(1, columns, figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, squeeze=False)
    return figure, list(axes[0])


def _save(figure: Figure, out: Path, note: str) -> Path:
    figure.text(0.99, 0.01, note, ha="right", va="bottom", fontsize=7, color="#616161")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(out, dpi=DPI, format="png")  # no bbox trimming: a fixed size
    plt.close(figure)
    return out


def _bar_labels(axes: Axes, bars, fmt: str) -> None:
    axes.bar_label(bars, fmt=fmt, fontsize=7, padding=2)


def engines_chart(data: dict, out: Path) -> Path:
    """bench_engines.json: the whole detector's fps per engine loop, and model ms."""
    figure, (left, right) = _figure(2)
    fps = data["detector_fps"]
    names = list(fps)
    bars = left.barh(names, [fps[n] for n in names], color=OURS)
    _bar_labels(left, bars, "%.1f")
    left.invert_yaxis()
    left.set_xlabel("frames per second (higher is better)")
    left.set_title("whole detector (pre + model + post)", fontsize=10)
    left.tick_params(axis="y", labelsize=7)
    det, rec = data.get("det_ms", {}), data.get("rec_ms", {})
    models = list(dict.fromkeys([*det, *rec]))
    y = range(len(models))
    for offset, ms, label, colour in (
        (-0.2, det, "detector", THIRD),
        (0.2, rec, "recogniser", PEER),
    ):
        bars = right.barh([i + offset for i in y], [ms.get(m, 0) for m in models], 0.4,
                          label=label, color=colour)  # fmt: skip
        right.bar_label(bars, [f"{ms[m]:.0f}" if m in ms else "" for m in models], fontsize=7,
                        padding=2)  # fmt: skip
    right.set_yticks(list(y), models, fontsize=7)
    right.invert_yaxis()
    right.set_xlabel("median ms per call (lower is better)")
    right.set_title("model only", fontsize=10)
    right.legend(fontsize=7)
    return _save(figure, out, "make bench SECTION=engines (bench_engines.json)")


def streams_chart(data: dict, out: Path) -> Path:
    """streams.json: total and per-stream fps, and read-to-result latency, per N streams."""
    figure, (left, right) = _figure(2)
    runs = sorted(data["runs"], key=lambda r: r["streams"])
    counts = [r["streams"] for r in runs]
    left.plot(counts, [r["total_fps"] for r in runs], "o-", color=OURS, label="total")
    low = [r["min_stream_fps"] for r in runs]
    high = [r["max_stream_fps"] for r in runs]
    left.fill_between(counts, low, high, color=PEER, alpha=0.4)
    left.plot(counts, low, "s--", color=PEER, label="per stream (slowest-fastest)")
    left.set_xlabel("streams in one process")
    left.set_ylabel("frames per second")
    left.set_title(f"fps (batches of up to {data.get('max_batch', '?')})", fontsize=10)
    left.legend(fontsize=7)
    if all("latency_ms_p50" in r for r in runs):
        right.plot(counts, [r["latency_ms_p50"] for r in runs], "o-", color=THIRD, label="median")
        right.plot(counts, [r["latency_ms_p95"] for r in runs], "^--", color=PEER, label="p95")
        right.legend(fontsize=7)
    else:
        right.text(
            0.5, 0.5, "no latency in this results file", ha="center", transform=right.transAxes
        )
    right.set_xlabel("streams in one process")
    right.set_ylabel("ms from frame read to result")
    right.set_title("latency", fontsize=10)
    for axes in (left, right):
        axes.set_xscale("log", base=2)
        axes.set_xticks(counts, [str(c) for c in counts])
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
    return _save(figure, out, f"make bench SECTION=streams ({data.get('video', '')})")


def reuse_chart(rows: list[dict], out: Path) -> Path:
    """reuse.json: speed-up (frames per CPU-second against off) and agreement per clip."""
    figure, (left, right) = _figure(2)
    clips = list(dict.fromkeys(r["clip"] for r in rows))
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    colours = dict(zip(modes, (PEER, OURS, THIRD, "#ef6c00")))
    width = 0.8 / len(modes)
    by = {(r["clip"], r["mode"]): r for r in rows}
    for k, mode in enumerate(modes):
        x = [i + (k - (len(modes) - 1) / 2) * width for i in range(len(clips))]
        speed = [by.get((c, mode), {}).get("speedup", 0) for c in clips]
        agree = [100 * by.get((c, mode), {}).get("agreement", 0) for c in clips]
        _bar_labels(left, left.bar(x, speed, width, label=mode, color=colours[mode]), "%.1fx")
        right.bar(x, agree, width, label=mode, color=colours[mode])
    for axes in (left, right):
        axes.set_xticks(range(len(clips)), clips)
        axes.grid(axis="y", alpha=0.3)
    left.set_ylabel("speed-up against TEMPORAL_REUSE=off")
    left.set_title("frames per CPU-second", fontsize=10)
    left.legend(title="TEMPORAL_REUSE", fontsize=7, title_fontsize=7)
    right.set_ylabel("% frames read as with off")
    right.set_ylim(min(90.0, *(100 * r.get("agreement", 1) for r in rows)) - 2, 100.5)
    right.set_title("agreement with off", fontsize=10)
    return _save(figure, out, "make bench SECTION=reuse (reuse.json)")


def eval_real_chart(report: dict, out: Path) -> Path:
    """eval-real.json: word recall per category, this project against RapidOCR (test split)."""
    split = "test" if "test" in report else next(k for k in report if k in ("tune", "test"))
    readers = report[split]
    names = list(readers)
    tags = list(readers[names[0]])
    figure, (axes,) = _figure(1)
    width = 0.8 / len(names)
    colours = (OURS, PEER, THIRD)
    for k, name in enumerate(names):
        x = [i + (k - (len(names) - 1) / 2) * width for i in range(len(tags))]
        recall = [readers[name].get(t, {}).get("word_recall", 0) for t in tags]
        bars = axes.bar(x, recall, width, label=READER_NAMES.get(name, name), color=colours[k % 3])
        _bar_labels(axes, bars, "%.2f")
    axes.set_xticks(range(len(tags)), [t.replace("_", "\n") for t in tags], fontsize=7)
    axes.set_ylim(0, 1.22)
    axes.set_ylabel("word recall")
    axes.set_title(f"real photos, {split} split: words found per category", fontsize=10)
    axes.legend(fontsize=7, loc="upper center", ncol=len(names))
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, out, "make eval (eval-real.json or eval-real.md)")


def eval_real_table(text: str) -> dict:
    """eval-real.md's tables as eval-real.json's shape (word recall only): {split: {reader:
    {tag: {"word_recall": r}}}}; readers named as the table's columns."""
    report: dict = {}
    split, readers = "", []
    for line in text.splitlines():
        if line.startswith("### "):
            split = line[4:].split()[0]
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.startswith("|") or set(cells[0]) <= {"-"}:
            continue
        if cells[0] == "tag":
            readers = [c.split(":")[0].strip() for c in cells[3:]]
            continue
        for reader, cell in zip(readers, cells[3:]):
            recall = float(cell.split("/")[0])
            report.setdefault(split, {}).setdefault(reader, {})[cells[0]] = {"word_recall": recall}
    if not report:
        raise ValueError("no reading-quality table found")
    return report


Loader = Callable[[str], object]
# Each chart: how it is drawn, and the results files it is drawn from (the first present).
CHARTS: dict[str, tuple[Callable[..., Path], tuple[tuple[str, Loader], ...]]] = {
    "engines.png": (engines_chart, (("bench_engines.json", json.loads),)),
    "streams.png": (streams_chart, (("streams.json", json.loads),)),
    "reuse.png": (reuse_chart, (("reuse.json", json.loads),)),
    "eval-real.png": (
        eval_real_chart,
        (("eval-real.json", json.loads), ("eval-real.md", eval_real_table)),
    ),
}


def make_charts(folder: Path) -> list[Path]:
    """Every chart whose results file is in `folder`, written beside it."""
    made = []
    for png, (draw, sources) in CHARTS.items():
        for name, loader in sources:
            source = folder / name
            if source.is_file():
                made.append(draw(loader(source.read_text(encoding="utf-8")), folder / png))
                break
    return made


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    folder = Path(args[0]) if args else RESULTS
    if not folder.is_dir():
        print(f"error: no results folder {folder}", file=sys.stderr)
        return 2
    try:
        made = make_charts(folder)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        print(f"error: a results file in {folder} is not as its tool writes it: {exc!r}",
              file=sys.stderr)  # fmt: skip
        return 2
    for path in made:
        print(f"wrote {path}")
    if not made:
        names = [name for _, sources in CHARTS.values() for name, _ in sources]
        print(f"no results to chart in {folder} ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
