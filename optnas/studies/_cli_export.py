"""``optnas export --storage URL --study-name NAME --out DIR [--top K]``.

Writes the best architecture (``arch.txt``, ``recipe.json``, ``best.json``, ``model.py``) of a
JointNAS/AutoTrain study, or the policy of an augmentation study, plus ``SUMMARY.md``
(see :mod:`optnas.studies._export`). The storage is only read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments."""
    parser.add_argument("--storage", required=True, help="storage URL of the study (e.g. sqlite:///optnas.db)")
    parser.add_argument("--study-name", required=True, help="study to export")
    parser.add_argument("--out", required=True, type=Path, help="output directory (created)")
    parser.add_argument("--top", type=int, default=5, help="best trials listed in SUMMARY.md (default 5)")


def run(args: argparse.Namespace) -> int:
    """Export the study; print the written files."""
    from optnas.studies._export import export_study, load_existing_study

    study = load_existing_study(args.storage, args.study_name)
    for path in export_study(study, args.out, storage_url=args.storage, top=args.top):
        print(path)
    return 0
