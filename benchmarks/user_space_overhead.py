"""JointNAS on a 30-dimension user search space: sampler overhead next to TPE and GP, and the
predicted-cost filter's error rate (issue 12).

One run, the same objective and budget for every sampler: 10 float (5 log), 10 int (3 log,
3 with a step) and 10 categorical parameters, a synthetic objective (nothing is trained), and a
parameter-count constraint from a cost function. Overhead per trial is the wall time of
``ask`` + every ``suggest`` (the objective is negligible), so it is the samplers' own time.

The filter part runs JointNAS with ``cost_filter="predicted"``: the proxy head, pretrained on
exact costs of a QMC sample, predicts the cost of every pool; the planner checks each chosen
candidate exactly. Reported: how often a chosen candidate was rejected by the exact check (false
positives, which cost one exact evaluation each), and on 2,048 held-out QMC points the
confusion of predicted against exact feasibility (false negatives are candidates the filter
wrongly hides).

Usage::

    python -m benchmarks.user_space_overhead [--trials 48] [--seeds 2]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import optuna

from benchmarks._harness import command_line, md_table, metadata, write_report
from optnas.constraints import Constraint
from optnas.samplers import JointNASSampler
from optnas.space import ParamSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)

D = optuna.distributions
SPACE: dict[str, Any] = {}
for i in range(10):
    SPACE[f"f{i}"] = D.FloatDistribution(1e-4, 1.0, log=True) if i < 5 else D.FloatDistribution(-1.0, 1.0)
for i in range(10):
    if i < 3:
        SPACE[f"i{i}"] = D.IntDistribution(1, 512, log=True)
    elif i < 6:
        SPACE[f"i{i}"] = D.IntDistribution(0, 60, step=4)
    else:
        SPACE[f"i{i}"] = D.IntDistribution(1, 9)
for i in range(10):
    SPACE[f"c{i}"] = D.CategoricalDistribution(["a", "b", "c", "d"][: 2 + i % 3])
LIMIT = 1500.0


def cost(p: dict[str, Any]) -> dict[str, float]:
    """A model-size-like statistic: width x depth products of the integer parameters."""
    return {"params": float(p["i0"] * p["i6"] + p["i1"] * p["i7"] + p["i3"] * p["i8"] + 10 * p["i2"])}


def objective(trial: optuna.trial.BaseTrial) -> float:
    p = {k: _suggest(trial, k, d) for k, d in SPACE.items()}
    v = -sum((math.log10(p[f"f{i}"]) + 2) ** 2 for i in range(5)) - sum(p[f"f{i}"] ** 2 for i in range(5, 10))
    v -= sum((math.log2(p[f"i{i}"]) - 4) ** 2 for i in range(3)) / 4
    v -= sum(abs(p[f"i{i}"] - 20) / 20 for i in range(3, 6)) + sum((p[f"i{i}"] - 5) ** 2 / 16 for i in range(6, 10))
    return v + sum(p[f"c{i}"] == "b" for i in range(10)) * 0.3


def _suggest(trial: optuna.trial.BaseTrial, name: str, dist: Any) -> Any:
    if isinstance(dist, D.FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, D.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    return trial.suggest_categorical(name, dist.choices)


def constraints_func(t: optuna.trial.FrozenTrial) -> list[float]:
    return [cost(t.params)["params"] / LIMIT - 1.0]


def make(name: str, seed: int) -> optuna.samplers.BaseSampler:
    c = [Constraint("params", LIMIT)]
    if name == "jointnas":
        return JointNASSampler(search_space=SPACE, cost=cost, constraints=c, seed=seed, n_batches=5)
    if name == "jointnas-predicted":
        return JointNASSampler(
            search_space=SPACE, cost=cost, constraints=c, seed=seed, n_batches=5, cost_filter="predicted"
        )
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constraints_func=constraints_func)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, constraints_func=constraints_func)
    raise ValueError(name)


def run(name: str, seed: int, n: int) -> dict[str, Any]:
    sampler = make(name, seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    spent = 0.0
    for _ in range(n):
        start = time.perf_counter()
        trial = study.ask()
        params = {k: _suggest(trial, k, d) for k, d in SPACE.items()}
        spent += time.perf_counter() - start
        study.tell(trial, objective(optuna.trial.FixedTrial(params)))
    feasible = [t for t in study.trials if cost(t.params)["params"] <= LIMIT]
    out: dict[str, Any] = {
        "overhead_s": spent / n,
        "best_feasible": max((t.value for t in feasible if t.value is not None), default=None),
        "feasible_fraction": len(feasible) / n,
    }
    if isinstance(sampler, JointNASSampler):
        plans = [v for k, v in study._storage.get_study_system_attrs(study._study_id).items() if "plan:" in k]
        out["checked"] = sum(int(p.get("n_checked", 0)) for p in plans)
        out["rejected"] = sum(int(p.get("n_rejected", 0)) for p in plans)
    return out


def filter_confusion(seed: int) -> dict[str, float]:
    """Predicted vs exact feasibility of 2,048 held-out QMC points."""
    sampler = make("jointnas-predicted", seed)
    space = ParamSpace(SPACE)
    planner = sampler._planner(space)
    cols = space.sample(2048, np.random.default_rng([seed, 99]))
    predicted = planner._feasible(cols, seed)
    exact = np.array([cost(space.to_params(r))["params"] <= LIMIT for r in cols])
    return {
        "exact_feasible": float(exact.mean()),
        "false_positive_rate": float((predicted & ~exact).sum() / max(predicted.sum(), 1)),
        "false_negative_rate": float((~predicted & exact).sum() / max(exact.sum(), 1)),
        "accuracy": float((predicted == exact).mean()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args(argv)
    names = ["jointnas", "jointnas-predicted", "tpe", "gp"]
    runs = {n: [run(n, s, args.trials) for s in range(args.seeds)] for n in names}
    summary = {}
    for n, rs in runs.items():
        summary[n] = {
            "overhead_s": float(np.median([r["overhead_s"] for r in rs])),
            "best_feasible": float(np.median([r["best_feasible"] for r in rs if r["best_feasible"] is not None])),
            "feasible_fraction": float(np.mean([r["feasible_fraction"] for r in rs])),
        }
    gp = summary["gp"]["overhead_s"]
    conf = filter_confusion(0)
    checked = sum(r["checked"] for r in runs["jointnas-predicted"])
    rejected = sum(r["rejected"] for r in runs["jointnas-predicted"])
    rows = [
        [n, f"{s['overhead_s'] * 1e3:.1f}", f"{s['overhead_s'] / gp:.3f}", f"{s['best_feasible']:.3f}",
         f"{s['feasible_fraction']:.2f}"]
        for n, s in summary.items()
    ]
    body = [
        f"30-dimension user space, {args.trials} trials x {args.seeds} seeds, constraint params <= {LIMIT:g}.",
        "",
        *md_table(["sampler", "overhead ms/trial (median)", "ratio to GP", "best feasible (median)",
                   "feasible fraction"], rows),
        "",
        f"Predicted cost filter: {rejected} of {checked} chosen candidates failed the exact check "
        f"(each costs one exact evaluation and is replaced). On 2,048 held-out QMC points: "
        f"{conf['exact_feasible']:.2f} exactly feasible; false-positive rate {conf['false_positive_rate']:.3f}, "
        f"false-negative rate {conf['false_negative_rate']:.3f} (feasible candidates the filter hides), "
        f"agreement {conf['accuracy']:.3f}.",
    ]
    ratio = summary["jointnas"]["overhead_s"] / gp
    write_report(
        "user_space_overhead",
        meta=metadata(command_line("benchmarks.user_space_overhead", argv)),
        result={"summary": summary, "runs": runs, "filter": conf, "checked": checked, "rejected": rejected},
        body=body,
        title="JointNAS on a 30-dimension user space: overhead and the predicted-cost filter",
        headline=f"JointNAS overhead per trial {ratio:.3f}x GPSampler's (goal <= 0.1); "
        f"predicted filter rejected {rejected}/{checked} chosen candidates",
    )
    print("\n".join(body))


if __name__ == "__main__":
    main()
