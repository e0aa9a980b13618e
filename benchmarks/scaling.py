"""Scaling of one JointNAS study across worker processes sharing an RDB storage.

1, 2 and 4 workers on one PostgreSQL study, and 1 and 2 on SQLite, each running
``JointNASSampler`` (cifar preset, a MACs constraint, batches of 8) with a fast objective: a
deterministic cost-model accuracy stand-in (or the surrogate benchmark when
``benchmarks/surrogate.py`` provides one, ``--objective surrogate``) plus a fixed sleep standing in
for training. Reports trials per second, the speed-up against 1 worker on the same storage, and
duplicates: plan positions completed more than once and identical parameter sets (both must be 0).

    python -m benchmarks.scaling [--trials 48] [--sleep 1.0] [--postgres URL]

Writes ``benchmarks/results/scaling.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import optuna

REPO = Path(__file__).resolve().parents[1]
MAX_MACS = 4.0e6


def _objective_factory(kind: str, sleep: float) -> Any:
    from optnas.constraints import max_macs, record
    from optnas.cost import count
    from optnas.space import preset

    space = preset("cifar")
    constraints = [max_macs(MAX_MACS)]
    surrogate = None
    if kind == "surrogate":
        from benchmarks.surrogate import load_surrogate

        surrogate = load_surrogate()

    def objective(trial: optuna.Trial) -> float:
        arch, recipe = space.suggest(trial)
        cost = count(arch, 10)
        record(trial, constraints, cost)
        if surrogate is not None:
            acc = float(surrogate.predict_params(trial.params))
        else:  # a smooth stand-in: bigger is better up to the budget, lr near 0.03 is best
            acc = 0.4 + 0.05 * np.log(cost.macs / 1e6) - 0.03 * np.log(recipe.lr / 0.03) ** 2 + 0.01 * recipe.ema
        time.sleep(sleep)
        return acc

    return space, constraints, objective


def _worker(url: str, name: str, total: int, sleep: float, kind: str, seed: int) -> None:
    from optnas.samplers import JointNASSampler
    from optnas.studies import open_storage

    space, constraints, objective = _objective_factory(kind, sleep)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(url, heartbeat_interval=5)
    sampler = JointNASSampler(
        space=space, num_classes=10, constraints=constraints, batch_size=8, n_batches=4, pool_size=512, seed=seed
    )
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    study.optimize(
        objective,
        callbacks=[optuna.study.MaxTrialsCallback(total, states=(optuna.trial.TrialState.COMPLETE,))],
    )


def run(url: str, workers: int, total: int, sleep: float, kind: str) -> dict[str, Any]:
    from optnas.studies import open_storage

    name = f"scaling-{uuid.uuid4().hex[:8]}"
    storage = open_storage(url, heartbeat_interval=5)
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, name, total, sleep, kind, 0)) for _ in range(workers)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    study = optuna.load_study(study_name=name, storage=storage)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    positions = collections.Counter(t.system_attrs.get("jointnas:position") for t in done)
    params = collections.Counter(json.dumps(t.params, sort_keys=True) for t in done)
    out = {
        "storage": url.split(":")[0],
        "workers": workers,
        "completed": len(done),
        "wall_s": wall,
        "trials_per_s": len(done) / wall,
        "duplicate_positions": sum(c - 1 for c in positions.values() if c > 1),
        "duplicate_params": sum(c - 1 for c in params.values() if c > 1),
    }
    optuna.delete_study(study_name=name, storage=storage)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--sleep", type=float, default=1.0)
    ap.add_argument("--objective", choices=("standin", "surrogate"), default="standin")
    ap.add_argument(
        "--postgres",
        default=os.environ.get("OPTNAS_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"),
    )
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "scaling")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        configs = [(args.postgres, w) for w in (1, 2, 4)] + [(f"sqlite:///{tmp}/scaling.db", w) for w in (1, 2)]
        for url, w in configs:
            r = run(url, w, args.trials, args.sleep, args.objective)
            print(r, flush=True)
            rows.append(r)
    for r in rows:
        base = next(x for x in rows if x["storage"] == r["storage"] and x["workers"] == 1)
        r["speedup_vs_1"] = r["trials_per_s"] / base["trials_per_s"]
    command = "python -m benchmarks.scaling " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "trials": args.trials,
        "sleep_s": args.sleep,
        "objective": args.objective,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    lines = [
        "# Scaling across workers (one JointNAS study, shared RDB storage)",
        "",
        f"`{meta['command']}` — {meta['date']}, {meta['cores']} cores; {args.trials} trials, "
        f"objective = {args.objective} + {args.sleep:g} s sleep standing in for training; batches of 8.",
        "",
        "| storage | workers | trials/s | speed-up vs 1 worker | duplicate positions | duplicate params |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['storage']} | {r['workers']} | {r['trials_per_s']:.3f} | {r['speedup_vs_1']:.2f} | "
            f"{r['duplicate_positions']} | {r['duplicate_params']} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
