"""``optnas report --storage URL --study-name NAME --out DIR [--top K] [--no-png] [--no-dashboard]``.

Writes plotly figures (HTML, plus PNG when kaleido can run) and ``SUMMARY.md``, and attaches the
summary to the study as an optuna-dashboard note (see :mod:`optnas.studies._report`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments."""
    parser.add_argument("--storage", required=True, help="storage URL of the study (e.g. sqlite:///optnas.db)")
    parser.add_argument("--study-name", required=True, help="study to report on")
    parser.add_argument("--out", required=True, type=Path, help="output directory (created)")
    parser.add_argument("--top", type=int, default=5, help="best trials in the summary (default 5)")
    parser.add_argument("--no-png", action="store_true", help="write HTML only (PNG needs kaleido and Chrome)")
    parser.add_argument(
        "--no-dashboard", action="store_true", help="do not attach the note and figures to the study (read-only)"
    )


def run(args: argparse.Namespace) -> int:
    """Write the report; print the written files."""
    from optnas.studies._export import load_existing_study
    from optnas.studies._report import write_report

    study = load_existing_study(args.storage, args.study_name)
    paths = write_report(
        study,
        args.out,
        storage_url=args.storage,
        top=args.top,
        png=not args.no_png,
        dashboard=not args.no_dashboard,
        stream=sys.stderr,
    )
    for path in paths:
        print(path)
    return 0
