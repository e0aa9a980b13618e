"""Live check of the surrogate comparison: JointNAS vs TPE with real training (issue 8).

Both searches run through :mod:`optnas.studies` with the real objective
(``JointNASObjective``: exact cost, constraints recorded, infeasible candidates never trained,
per-epoch reports) on AutoAugment's reduced CIFAR-10 (4,000 training images, a fixed 1,000-image
validation split; the same data as ``benchmarks/generate_evals.py``), the ``cifar`` space and the
same MACs constraint as ``benchmarks/sampler_comparison.py`` (median MACs of a QMC pool):

- JointNAS: ``run_study`` on a ``jointnas`` study config whose sampler plan is exactly
  ``--trials`` (``batch_size * n_batches + final_batch_size``).
- TPE: ``TPESampler(multivariate=True)`` driving the same objective (Optuna 5 TPE reads the
  constraints that ``trial.set_constraint`` stored).

For each, the best feasible trial's validation accuracy is reported, and its candidate is trained
once more with the same seed and evaluated on the folder's test split (the objective does not
look at test images).

    python -m benchmarks.live_check [--trials 32 --batch-size 8 --n-batches 3 --final 8] [--epochs 4]

The issue's setting is 32 trials each; on a 2-core CPU host one reduced-CIFAR-10 training takes
minutes, so smaller budgets (e.g. ``--trials 8 --batch-size 2 --n-batches 3 --final 2
--epochs 2``) are what fits a session. Writes ``benchmarks/results/live_check.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

from benchmarks.sampler_comparison import median_macs_limit
from optnas.space import preset
from optnas.studies import best_feasible, load_data, make_objective, parse_study, run_study

REPO = Path(__file__).resolve().parents[1]


def _test_accuracy(config: Any, data: Any, trial: optuna.trial.FrozenTrial, epochs: int | None) -> dict[str, Any]:
    """Retrain the trial's candidate (same seed) and evaluate it on the test split."""
    from optnas.train import train_and_evaluate

    arch, recipe = config.space.decode_params(trial.params)
    budget = trial.user_attrs.get("epochs_trained", epochs)
    res = train_and_evaluate(
        arch,
        recipe,
        data,
        seed=config.seed,
        epochs=budget,
        evaluate_test=True,
        num_threads=config.train.get("num_threads"),
    )
    return {
        "trial": trial.number,
        "val_acc": float(trial.value or 0.0),
        "val_acc_retrained": float(res.accuracy),
        "test_acc": float(res.test_accuracy) if res.test_accuracy is not None else None,
        "epochs": budget,
        "macs": trial.user_attrs.get("macs"),
        "arch": trial.user_attrs.get("arch"),
        "params": trial.params,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--n-batches", type=int, default=3)
    ap.add_argument("--final", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--subset", type=int, default=4000)
    ap.add_argument("--val-size", type=int, default=1000)
    ap.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("OPTNAS_CIFAR10", REPO.parent / "shared" / "data" / "cifar10")),
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "live_check")
    args = ap.parse_args(argv)
    if args.batch_size * args.n_batches + args.final != args.trials:
        ap.error("need batch_size * n_batches + final == trials (JointNAS plans exactly --trials trials)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    limit = median_macs_limit(preset("cifar"))
    config = parse_study(
        {
            "study": {"kind": "jointnas", "name": "live-jointnas", "seed": args.seed, "n_trials": args.trials},
            "dataset": {
                "name": "imagefolder",
                "root": str(args.root.resolve()),
                "subset": args.subset,
                "val_size": args.val_size,
            },
            "space": {"preset": "cifar"},
            "constraints": {"max_macs": limit},
            "sampler": {"batch_size": args.batch_size, "n_batches": args.n_batches, "final_batch_size": args.final},
            "train": {"epochs": args.epochs, "num_threads": args.threads},
        }
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/live.db"
        log = io.StringIO()
        t0 = time.perf_counter()
        jn = run_study(config, storage_url=url, stream=log)
        out["jointnas"] = {"wall_s": time.perf_counter() - t0, "log": log.getvalue().splitlines()}
        print(log.getvalue(), flush=True)
        data = load_data(config)
        objective = make_objective(config, data)
        tpe = optuna.create_study(
            study_name="live-tpe",
            storage=url,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(multivariate=True, seed=args.seed),
            pruner=optuna.pruners.NopPruner(),  # as run_study's JointNAS study: every trial runs its budget
        )
        t0 = time.perf_counter()
        tpe.optimize(objective, n_trials=args.trials)
        out["tpe"] = {"wall_s": time.perf_counter() - t0}
        for name, study in (("jointnas", jn), ("tpe", tpe)):
            done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            out[name]["n_trials"] = len(done)
            out[name]["n_feasible"] = sum(1 for t in done if t.user_attrs.get("feasible"))
            best = best_feasible(study, k=1)
            out[name]["best"] = _test_accuracy(config, data, best[0], args.epochs) if best else None
            print(name, out[name]["best"], flush=True)
    command = "python -m benchmarks.live_check " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "max_macs": limit,
        "trials": args.trials,
        "epochs": args.epochs,
        "plan": [args.batch_size, args.n_batches, args.final],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": out}, indent=2, default=str))
    lines = [
        "# Live check: JointNAS vs TPE with real training (reduced CIFAR-10)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date (UTC): {meta['date']}  ",
        f"Machine: {meta['cores']} cores (shared)  ",
        f"Setting: `cifar` space, MACs <= {limit:,.0f}, {args.trials} trials each, {args.epochs} epochs per "
        f"training, one seed ({args.seed}); JointNAS plan {args.batch_size} x {args.n_batches} + {args.final}",
        "",
        "| sampler | trials | feasible | best feasible val acc | its test acc | MMACs | wall min "
        "| ratio to TPE (val) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    tpe_val = (out["tpe"].get("best") or {}).get("val_acc")
    for name in ("jointnas", "tpe"):
        r, b = out[name], out[name].get("best") or {}
        val, test = b.get("val_acc"), b.get("test_acc")
        ratio = f"{val / tpe_val:.3f}" if val is not None and tpe_val else "-"
        lines.append(
            f"| {'JointNAS' if name == 'jointnas' else 'TPE (multivariate)'} | {r['n_trials']} | {r['n_feasible']} | "
            f"{val if val is None else f'{val:.4f}'} | {test if test is None else f'{test:.4f}'} | "
            f"{(b.get('macs') or 0) / 1e6:.2f} | {r['wall_s'] / 60:.1f} | {ratio} |"
        )
    lines += [
        "",
        "One seed and a small budget: this checks that the surrogate's ordering holds up, it measures no spread.",
    ]
    if args.trials <= 10:
        lines.append(
            f"At {args.trials} trials TPE is still in its 10 random start-up trials (Optuna's default "
            "`n_startup_trials`), so its column is random search under the constraint."
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
