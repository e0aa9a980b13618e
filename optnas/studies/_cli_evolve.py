"""``optnas evolve``: reuse a study's predictor for new budgets (FBNetV3 Sec. 3.3): nothing is trained.

One set of budgets::

    optnas evolve --storage URL --study-name NAME [--max-mmacs X] [--max-mparams Y]
                  [--max-latency-ms Z] [--top-k K] [--seed S] [--json] [--enqueue]

The accuracy-cost front, one budget after another (FBNetV3 Fig. 1 / Table 3: one search, a
model per budget)::

    optnas evolve --storage URL --study-name NAME --sweep max_mmacs=0.2:2.0:10 [--out DIR] [--enqueue]

``--sweep KEY=START:STOP:COUNT`` (or ``KEY=B1,B2,...``) with KEY one of ``max_mmacs``,
``max_mparams``, ``max_latency_ms``; the other ``--max-*`` budgets still apply to every member.
It writes ``front.csv``/``.md``/``.json``/``.html``/``.png`` into ``--out`` (default
``front-<study>``). ``--max-mflops`` is the old name of ``--max-mmacs`` (millions of
multiply-accumulates, the "MFLOPs" of the mobile-NAS papers) and stays accepted.

Latency is predicted from a per-block lookup table (:mod:`optnas.cost._latency`): ``--latency-table``
(a user JSON/CSV table), else the table stored with the study, else this machine's table for
``--latency-device``/``--latency-batch``/``--latency-threads`` (default cpu, 1, 1), measured on
first use and cached. ``--enqueue`` adds the results (the front's members with ``--sweep``) to the
study as waiting trials, so ``optnas run`` trains them next.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

import optuna

from optnas._errors import ConfigError
from optnas.constraints import Constraint, max_latency_ms, max_macs, max_params

if TYPE_CHECKING:
    from optnas.cost import LatencyTable

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments."""
    parser.add_argument("--storage", required=True, help="storage URL of the study")
    parser.add_argument("--study-name", required=True, help="a JointNAS or AutoTrain study")
    parser.add_argument(
        "--max-mmacs",
        "--max-mflops",
        dest="max_mmacs",
        type=float,
        default=None,
        help="MACs budget, in millions (--max-mflops is the old name)",
    )
    parser.add_argument("--max-mparams", type=float, default=None, help="parameter budget, in millions")
    parser.add_argument("--max-latency-ms", type=float, default=None, help="predicted latency budget, in ms")
    parser.add_argument(
        "--sweep",
        default=None,
        metavar="KEY=START:STOP:COUNT",
        help="the predicted front over budgets, e.g. max_mmacs=0.2:2.0:10 (max_mparams, max_latency_ms too)",
    )
    parser.add_argument("--out", default=None, help="directory of the --sweep files (default front-<study>)")
    parser.add_argument("--no-png", action="store_true", help="skip the PNG of the --sweep figure")
    parser.add_argument("--latency-table", default=None, help="a user latency table (JSON or CSV)")
    parser.add_argument("--latency-device", default="cpu", help="device to measure latency on (default cpu)")
    parser.add_argument("--latency-batch", type=int, default=1, help="batch size of latency measurements (default 1)")
    parser.add_argument("--latency-threads", type=int, default=1, help="threads of latency measurements (default 1)")
    parser.add_argument("--top-k", type=int, default=5, help="number of candidates (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="GA seed (default 0)")
    parser.add_argument("--artifacts", default=None, help="artifact directory (default: the one recorded in the study)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--enqueue", action="store_true", help="add the candidates to the study as waiting trials")


def _constraints(args: argparse.Namespace) -> list[Constraint]:
    out: list[Constraint] = []
    for flag, value, make, scale in (
        ("--max-mmacs", args.max_mmacs, max_macs, 1e6),
        ("--max-mparams", args.max_mparams, max_params, 1e6),
        ("--max-latency-ms", args.max_latency_ms, max_latency_ms, 1.0),
    ):
        if value is not None:
            try:
                out.append(make(value * scale))
            except ConfigError as exc:
                raise ConfigError(flag, value, exc.reason) from None
    return out


def _latency_table(args: argparse.Namespace, study: optuna.Study) -> LatencyTable:
    from optnas.cost import LatencyTable, LatencyTarget, device_table
    from optnas.predictor import load_latency_table

    if args.latency_table is not None:
        return LatencyTable.load(args.latency_table)
    stored = load_latency_table(study, artifact_dir=args.artifacts)
    if stored is not None:
        return stored
    for flag, value in (("--latency-batch", args.latency_batch), ("--latency-threads", args.latency_threads)):
        if value < 1:
            raise ConfigError(flag, value, "must be a positive integer")
    target = LatencyTarget(device=args.latency_device, batch_size=args.latency_batch, threads=args.latency_threads)
    return device_table(target)


def run(args: argparse.Namespace) -> int:
    """Print (and optionally enqueue) the top-K candidates, or write the front of a sweep."""
    from optnas.studies._evolve import evolve
    from optnas.studies._front import enqueue_front, parse_sweep, sweep, write_front
    from optnas.studies._runner import open_storage

    constraints = _constraints(args)
    spec = parse_sweep(args.sweep) if args.sweep is not None else None
    if not constraints and spec is None:
        raise ConfigError(
            "--max-mmacs",
            None,
            "give at least one budget (--max-mmacs (old name --max-mflops), --max-mparams, --max-latency-ms) "
            "or --sweep",
        )
    if args.top_k < 1:
        raise ConfigError("--top-k", args.top_k, "must be a positive integer")
    storage = open_storage(args.storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if args.study_name not in names:
        raise ConfigError("--study-name", args.study_name, f"no such study in {args.storage}")
    study = optuna.load_study(study_name=args.study_name, storage=storage)
    uses_latency = any(c.metric == "latency_ms" for c in constraints) or (
        spec is not None and spec.metric == "latency_ms"
    )
    latency = _latency_table(args, study) if uses_latency else None
    if spec is not None:
        front = sweep(
            study, spec, constraints, top_k=args.top_k, seed=args.seed, artifact_dir=args.artifacts, latency=latency
        )
        out = args.out or f"front-{args.study_name}"
        written, reason = write_front(front, out, png=not args.no_png)
        n = enqueue_front(study, front) if args.enqueue else 0
        if args.json:
            print(json.dumps({"rows": front.rows(), "files": [str(p) for p in written]}, indent=2, default=str))
        else:
            unit = spec.unit
            print(f"{'budget':>8}  {'predicted':>9}  {'MMACs':>8}  {'Mparams':>8}  {'ms':>7}  trained  arch")
            for r in front.rows():
                acc = "" if r["predicted_accuracy"] is None else f"{r['predicted_accuracy']:.4f}"
                mm = "" if r["mmacs"] is None else f"{r['mmacs']:.3f}"
                mp = "" if r["mparams"] is None else f"{r['mparams']:.4f}"
                ms = "" if r["latency_ms"] is None else f"{r['latency_ms']:.3f}"
                tr = "" if r["trained_trial"] is None else str(r["trained_trial"])
                what = r["arch"] or r["note"]
                print(f"{r[f'budget_{unit}']:8.4g}  {acc:>9}  {mm:>8}  {mp:>8}  {ms:>7}  {tr:>7}  {what}")
            print(f"wrote {', '.join(str(p) for p in written)}" + (f" (no PNG: {reason})" if reason else ""))
            if args.enqueue:
                print(f"enqueued {n} front members in {args.study_name!r}; `optnas run` trains them next")
        return 0
    found = evolve(study, constraints, args.top_k, seed=args.seed, artifact_dir=args.artifacts, latency=latency)
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
        lat = any(c.latency_ms is not None for c in found)
        print(
            f"{'#':>2}  {'predicted':>9}  {'MMACs':>8}  {'Mparams':>8}"
            + ("  " + f"{'ms':>7}" if lat else "")
            + "  arch"
        )
        for i, c in enumerate(found):
            ms = f"  {c.latency_ms:7.3f}" if lat and c.latency_ms is not None else ""
            print(f"{i:2d}  {c.predicted_accuracy:9.4f}  {c.macs / 1e6:8.3f}  {c.params / 1e6:8.4f}{ms}  {c.arch}")
        if args.enqueue:
            print(f"enqueued {len(found)} trials in {args.study_name!r}; `optnas run` trains them next")
    return 0
