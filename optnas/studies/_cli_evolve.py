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
import os
from typing import TYPE_CHECKING

import optuna

from optnas._errors import ConfigError
from optnas.constraints import Constraint, max_latency_ms, max_macs, max_params

if TYPE_CHECKING:
    from optnas.cost import LatencyTable
    from optnas.studies._front import SweepSpec

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


#: The most candidates ``--top-k`` returns, and the most budgets one ``--sweep`` has: more is a typo.
MAX_TOP_K = 1000
MAX_SWEEP = 100
#: ``--max-*`` flag of each constraint name.
_FLAGS = {"max_macs": "--max-mmacs", "max_params": "--max-mparams", "max_latency_ms": "--max-latency-ms"}


def _flag_error(exc: ConfigError, args: argparse.Namespace) -> ConfigError:
    """An error on a constraint or on the study, named by the flag the user typed."""
    if exc.field in _FLAGS:
        flag = _FLAGS[exc.field]
        return ConfigError(flag, getattr(args, flag[2:].replace("-", "_")), exc.reason)
    if exc.field == "study":
        return ConfigError("--study-name", args.study_name, exc.reason)
    return exc


def _check_args(args: argparse.Namespace) -> None:
    """Everything that can be checked before the study is opened (nothing is computed or written before)."""
    from pathlib import Path

    for flag, value, low, high in (("--top-k", args.top_k, 1, MAX_TOP_K), ("--seed", args.seed, 0, 2**32 - 1)):
        if not low <= value <= high:
            raise ConfigError(flag, value, f"must be an integer from {low} to {high:,}")
    if args.latency_table is not None and not Path(args.latency_table).is_file():
        raise ConfigError("--latency-table", args.latency_table, "no such file")
    if args.artifacts is not None and not Path(args.artifacts).is_dir():
        raise ConfigError("--artifacts", args.artifacts, "no such directory")
    import torch

    try:
        dev = torch.device(args.latency_device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError("--latency-device", args.latency_device, f"not a torch device: {exc}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError("--latency-device", args.latency_device, "latency is measured on 'cpu' or 'cuda'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--latency-device", args.latency_device, "CUDA is not available on this machine")
    if args.sweep is not None:
        _check_sweep(args.sweep)
        out = Path(args.out or f"front-{args.study_name}")
        existing = out
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if out.exists() and not out.is_dir():
            raise ConfigError("--out", str(out), "exists and is not a directory")
        if not existing.is_dir() or not os.access(existing, os.W_OK):
            raise ConfigError("--out", str(out), f"cannot create it: {str(existing)!r} is not a writable directory")
        if not out.exists():  # tried now (root may "write" where nothing can be created), then removed again
            try:
                out.mkdir(parents=True)
            except OSError as exc:
                raise ConfigError("--out", str(out), f"cannot create it: {exc.strerror}") from None
            for p in [out, *out.parents]:
                if p == existing:
                    break
                p.rmdir()


def _check_sweep(text: str) -> None:
    """Bounds of ``--sweep``'s budget count (``parse_sweep`` checks the rest)."""
    _, _, rhs = text.partition("=")
    parts = rhs.split(":")
    if len(parts) == 3:
        try:
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            return  # parse_sweep says what is expected
        if stop < start:
            raise ConfigError("--sweep", text, "STOP must be >= START")
        if not 1 <= count <= MAX_SWEEP:
            raise ConfigError("--sweep", text, f"COUNT must be from 1 to {MAX_SWEEP}")
    elif rhs.count(",") >= MAX_SWEEP:
        raise ConfigError("--sweep", text, f"at most {MAX_SWEEP} budgets")


def _check_satisfiable(study: optuna.Study, constraints: list[Constraint], args: argparse.Namespace) -> None:
    """A budget that no candidate of the study's space can meet, before any predictor is loaded or refitted."""
    from optnas._keys import CLASSES_ATTR, PREDICTOR_ATTR, SPACE_ATTR
    from optnas.constraints import check_satisfiable
    from optnas.space import JointSpace

    space = study.user_attrs.get(SPACE_ATTR)
    meta = study.user_attrs.get(PREDICTOR_ATTR)
    classes = study.user_attrs.get(CLASSES_ATTR) or (meta.get("num_classes") if isinstance(meta, dict) else None)
    exact = [c for c in constraints if c.metric in ("macs", "params")]
    if space is None or not isinstance(classes, int) or not exact:
        return
    try:
        check_satisfiable(JointSpace.from_dict(space), exact, classes)
    except ConfigError as exc:
        raise _flag_error(exc, args) from None


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
    from optnas.studies._front import parse_sweep
    from optnas.studies._runner import open_storage

    constraints = _constraints(args)
    _check_args(args)
    spec = parse_sweep(args.sweep) if args.sweep is not None else None
    if not constraints and spec is None:
        raise ConfigError(
            "--max-mmacs",
            None,
            "give at least one budget (--max-mmacs (old name --max-mflops), --max-mparams, --max-latency-ms) "
            "or --sweep",
        )
    storage = open_storage(args.storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if args.study_name not in names:
        raise ConfigError("--study-name", args.study_name, f"no such study in {args.storage}")
    study = optuna.load_study(study_name=args.study_name, storage=storage)
    _check_satisfiable(study, constraints, args)
    try:
        return _evolve_or_sweep(args, study, constraints, spec)
    except ConfigError as exc:
        raise _flag_error(exc, args) from None


def _evolve_or_sweep(
    args: argparse.Namespace, study: optuna.Study, constraints: list[Constraint], spec: SweepSpec | None
) -> int:
    from optnas.studies._evolve import evolve
    from optnas.studies._front import enqueue_front, sweep, write_front

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
