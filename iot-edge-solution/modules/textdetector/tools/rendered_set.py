"""What the rendered evaluation sets share: writing the ground truth atomically and the
`--out/--count/--force` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent.parent

Render = Callable[[Path, int], Path]


def write_truth(folder: Path, name: str, records: list[dict]) -> Path:
    """One JSON line per record, written to a partial file and renamed into place."""
    truth = folder / name
    partial = folder / ("partial-" + name)
    partial.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    partial.replace(truth)
    return truth


def main(
    render: Render, set_name: str, truth_name: str, count: int, doc: str, argv: list[str] | None
) -> int:
    """Render the set unless present; a missing input (a font) is one line and exit 1."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODULE_DIR / "local_data", help="parent folder")
    parser.add_argument("--count", type=int, default=count, help="images to render")
    parser.add_argument("--force", action="store_true", help="render even when present")
    args = parser.parse_args(argv)
    truth = args.out / set_name / truth_name
    if truth.exists() and not args.force:
        print(f"{truth.parent} is present (--force renders it again)")
        return 0
    try:
        print(f"rendered {render(args.out, args.count).parent} ({args.count} images)")
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
