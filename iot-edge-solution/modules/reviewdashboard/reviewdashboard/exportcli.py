"""`python -m reviewdashboard export-labels --out DIR`: the export from a shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from azure.core.exceptions import AzureError

from .config import ConfigError, DashboardSettings, load
from .export import ExportError, Summary, export
from .storage import FrameStore
from .thumbs import limit_pixels


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reviewdashboard export-labels",
        description="Write every confirmed or corrected line labelled in the dashboard as "
        "a PaddleOCR recognition dataset (train.txt, val.txt, crops/, dataset.json) plus "
        "detection labels (detection/). Storage: DASHBOARD_STORAGE_CONNECTION_STRING; "
        "containers: DASHBOARD_CONTAINERS.",
    )
    p.add_argument("--out", required=True, type=Path, help="dataset directory to create")
    p.add_argument(
        "--val-percent",
        type=float,
        default=10.0,
        help="share of lines in val.txt, chosen by a hash of each line (default 10)",
    )
    p.add_argument("--replace", action="store_true", help="replace an existing, non-empty --out")
    return p


async def _run(args: argparse.Namespace, settings: DashboardSettings) -> Summary:
    store = FrameStore(settings)
    try:
        return await export(store, settings.containers, args.out, args.val_percent, args.replace)
    finally:
        await store.close()


def _settings() -> DashboardSettings:
    """The DASHBOARD_* settings, the connection string checked; ConfigError otherwise."""
    settings = load()
    try:
        FrameStore(settings)
    except ValueError:
        raise ConfigError(
            "invalid value for DASHBOARD_STORAGE_CONNECTION_STRING: expected a Blob Storage "
            "connection string"
        ) from None
    limit_pixels(settings.max_pixels)
    return settings


def main(argv: list[str] | None = None) -> int:
    """Export; one line and exit 1 (nothing to export, storage down) or 2 (bad setting)."""
    args = parser().parse_args(argv)
    if not 0 <= args.val_percent <= 50:
        print("error: --val-percent must be between 0 and 50", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(_run(args, _settings()))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except AzureError as exc:
        print(f"error: storage unreachable or refused ({type(exc).__name__})", file=sys.stderr)
        return 1
    print(
        f"exported {summary.train} train and {summary.val} val lines from {summary.frames} "
        f"frames ({summary.ignored} ignored, {len(summary.skipped)} skipped) to {summary.out}"
    )
    return 0
