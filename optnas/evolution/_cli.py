"""``optnas evolve --storage URL --study-name NAME --max-mflops X [--max-mparams Y] [--top-k K] [--json] [--enqueue]``.

Reuses a study's predictor for new resource constraints (FBNetV3 Sec. 3.3): nothing is trained.
``--enqueue`` adds the results to the study as waiting trials, so ``optnas run`` trains them next.
"""

from __future__ import annotations

import argparse
import json

import optuna

from optnas._errors import ConfigError
from optnas.constraints import Constraint, max_macs, max_params

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments."""
    parser.add_argument("--storage", required=True, help="storage URL of the study")
    parser.add_argument("--study-name", required=True, help="a JointNAS or AutoTrain study")
    parser.add_argument("--max-mflops", type=float, default=None, help="MACs budget, in millions")
    parser.add_argument("--max-mparams", type=float, default=None, help="parameter budget, in millions")
    parser.add_argument("--top-k", type=int, default=5, help="number of candidates (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="GA seed (default 0)")
    parser.add_argument("--artifacts", default=None, help="artifact directory (default: the one recorded in the study)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--enqueue", action="store_true", help="add the candidates to the study as waiting trials")


def run(args: argparse.Namespace) -> int:
    """Print (and optionally enqueue) the top-K candidates for the new constraints."""
    from optnas.evolution._reuse import evolve
    from optnas.studies._runner import open_storage

    constraints: list[Constraint] = []
    if args.max_mflops is not None:
        constraints.append(max_macs(args.max_mflops * 1e6))
    if args.max_mparams is not None:
        constraints.append(max_params(args.max_mparams * 1e6))
    if not constraints:
        raise ConfigError("--max-mflops", None, "give at least one budget (--max-mflops and/or --max-mparams)")
    if args.top_k < 1:
        raise ConfigError("--top-k", args.top_k, "must be a positive integer")
    storage = open_storage(args.storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if args.study_name not in names:
        raise ConfigError("--study-name", args.study_name, f"no such study in {args.storage}")
    study = optuna.load_study(study_name=args.study_name, storage=storage)
    found = evolve(study, constraints, args.top_k, seed=args.seed, artifact_dir=args.artifacts)
    if args.enqueue:
        for c in found:
            study.enqueue_trial(
                c.trial_params,
                user_attrs={"stage": "evolve", "predicted_accuracy": c.predicted_accuracy, "macs": c.macs},
                skip_if_exists=True,
            )
    if args.json:
        print(json.dumps([c.to_dict() for c in found], indent=2))
    else:
        print(f"{'#':>2}  {'predicted':>9}  {'MMACs':>8}  {'Mparams':>8}  arch")
        for i, c in enumerate(found):
            print(f"{i:2d}  {c.predicted_accuracy:9.4f}  {c.macs / 1e6:8.3f}  {c.params / 1e6:8.4f}  {c.arch}")
        if args.enqueue:
            print(f"enqueued {len(found)} trials in {args.study_name!r}; `optnas run` trains them next")
    return 0
