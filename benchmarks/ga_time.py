"""Wall time of the stage-2 adaptive GA on the ``fbnetv3`` preset under a MACs constraint.

FBNetV3 (Dai et al., 2021, Sec. 3.3) says the predictor-based genetic search of stage 2 takes
"CPU minutes". This script runs :func:`optnas.evolution.adaptive_ga` with its default
:class:`~optnas.evolution.GAConfig` on the paper-scale ``fbnetv3`` space (33 searched
dimensions, architecture and recipe) under ``MACs <= --max-macs`` at ``--num-classes`` and
reports, per seed, the seconds, generations, candidates scored and the ratio to 60 s (one
"CPU minute"; < 1 means faster).

The score is a realistic one: ``optnas.predictor.Predictor`` (the FBNetV3 neural acquisition
function) fitted on ``--train-points`` feasible candidates with synthetic accuracies (a smooth
function of log-MACs and of a seeded random direction in the encoding, plus noise), standing in
for the stage-1 measurements. If ``optnas.predictor`` is not importable the score is a seeded
random 2-layer numpy MLP on ``space.encode(cols)`` and the output says so. Predictor fitting
(with its pretraining) is timed separately and not included in the GA time.

The peer measured in the same run is random search with the same number of scored candidates
(feasible Sobol draws, scored by the same predictor): its time and best predicted score.

Usage::

    python -m benchmarks.ga_time [--seeds 0 1 2] [--max-macs 700e6] [--num-classes 1000]
                                 [--train-points 64] [--max-per-arch K] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from optnas.cost import count_columns
from optnas.evolution import GAConfig, adaptive_ga
from optnas.space import JointSpace, preset

FloatArray = npt.NDArray[np.float64]
PAPER_SECONDS = 60.0  # "CPU minutes" (FBNetV3 Sec. 3.3): one minute as the reference


class _Timed:
    """Wrap a function, accumulating its call count and wall time."""

    def __init__(self, fn: Callable[[FloatArray], Any]) -> None:
        self.fn = fn
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, cols: FloatArray) -> Any:
        t0 = time.perf_counter()
        out = self.fn(cols)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


def _feasible_fn(space: JointSpace, max_macs: float, num_classes: int) -> Callable[[FloatArray], Any]:
    try:
        from optnas.constraints import feasible_mask
        from optnas.constraints import max_macs as make_constraint

        constraint = [make_constraint(max_macs)]
        return lambda cols: feasible_mask(constraint, count_columns(space, cols, num_classes))
    except ImportError:  # constraints module absent: the same rule by hand
        return lambda cols: count_columns(space, cols, num_classes).macs <= max_macs


def _synthetic_accuracy(space: JointSpace, cols: FloatArray, num_classes: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    x = space.encode(cols)
    w = rng.standard_normal(x.shape[1]) / np.sqrt(x.shape[1])
    macs = count_columns(space, cols, num_classes).macs.astype(float)
    acc = 0.75 + 0.03 * np.tanh(np.log(macs / 5e8)) + 0.01 * (x @ w)
    return np.asarray(acc + 0.002 * rng.standard_normal(len(acc)), dtype=float)


def _score_fn(
    space: JointSpace, feasible: Callable[[FloatArray], Any], num_classes: int, n_train: int, seed: int
) -> tuple[Callable[[FloatArray], FloatArray], str, float]:
    """The GA's score, a description of it, and the seconds spent building it."""
    t0 = time.perf_counter()
    try:
        from optnas.predictor import Predictor
    except ImportError:
        rng = np.random.default_rng(seed)
        w1 = rng.standard_normal((space.encoding_width, 64)) / np.sqrt(space.encoding_width)
        w2 = rng.standard_normal(64) / 8.0

        def mlp(cols: FloatArray) -> FloatArray:
            return np.asarray(np.tanh(space.encode(cols) @ w1) @ w2, dtype=float)

        return mlp, "seeded random 2-layer numpy MLP (optnas.predictor not available)", time.perf_counter() - t0
    pool = space.sample(4096, seed)
    train = pool[np.asarray(feasible(pool), dtype=bool)][:n_train]
    y = _synthetic_accuracy(space, train, num_classes, seed)
    predictor = Predictor(space, num_classes=num_classes, seed=seed).fit(train, y)
    desc = f"optnas.predictor.Predictor fitted on {len(train)} feasible points with synthetic accuracies"
    return predictor.predict, desc, time.perf_counter() - t0


def _random_search(
    space: JointSpace,
    score: Callable[[FloatArray], FloatArray],
    feasible: Callable[[FloatArray], Any],
    n: int,
    seed: int,
) -> tuple[float, float]:
    """Best predicted score of ``n`` feasible Sobol candidates, and the seconds it took."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(10_000 + seed)
    found: list[FloatArray] = []
    have = 0
    while have < n:
        draw = space.sample(8192, rng)
        draw = draw[np.asarray(feasible(draw), dtype=bool)]
        found.append(draw)
        have += len(draw)
    best = float(np.max(score(np.concatenate(found)[:n])))
    return best, time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fbnetv3")
    parser.add_argument("--max-macs", type=float, default=700e6)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--train-points", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-per-arch", type=int, default=None, help="GAConfig.max_per_arch (default: unset)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)

    space = preset(args.preset)
    feasible = _feasible_fn(space, args.max_macs, args.num_classes)
    config = GAConfig(max_per_arch=args.max_per_arch)
    arch_cols = [j for j, d in enumerate(space.dims) if d.part == "arch"]
    rows: list[dict[str, Any]] = []
    score_desc = ""
    for seed in args.seeds:
        score, score_desc, fit_seconds = _score_fn(space, feasible, args.num_classes, args.train_points, seed)
        timed_score, timed_feasible = _Timed(score), _Timed(feasible)
        t0 = time.perf_counter()
        result = adaptive_ga(space, timed_score, timed_feasible, None, rng=np.random.default_rng(seed), config=config)
        seconds = time.perf_counter() - t0
        macs = count_columns(space, result.cols, args.num_classes).macs
        if not np.all(np.asarray(feasible(result.cols), dtype=bool)):
            raise SystemExit("a GA result violates the constraint")
        rs_best, rs_seconds = _random_search(space, score, feasible, result.n_scored, seed)
        row = {
            "seed": seed,
            "seconds": round(seconds, 3),
            "ratio_vs_60s": round(seconds / PAPER_SECONDS, 4),
            "generations": result.generations,
            "n_scored": result.n_scored,
            "n_dropped": result.n_dropped,
            "score_seconds": round(timed_score.seconds, 3),
            "score_calls": timed_score.calls,
            "feasible_seconds": round(timed_feasible.seconds, 3),
            "feasible_calls": timed_feasible.calls,
            "best_predicted": round(float(result.scores[0]), 6),
            "best_mmacs": round(float(macs[0]) / 1e6, 2),
            "max_mmacs_top_k": round(float(macs.max()) / 1e6, 2),
            "distinct_archs_top_k": len(np.unique(result.cols[:, arch_cols], axis=0)),
            "predictor_fit_seconds": round(fit_seconds, 3),
            "random_search_best_predicted": round(rs_best, 6),
            "random_search_seconds": round(rs_seconds, 3),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    meta = {
        "command": command,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "preset": args.preset,
        "searched_dims": len(space.dims),
        "constraint": f"macs <= {args.max_macs:g} at num_classes={args.num_classes}",
        "score": score_desc,
        "ga_config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "paper_reference_seconds": PAPER_SECONDS,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ga_time.json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    med = float(np.median([r["seconds"] for r in rows]))
    lines = [
        "# Stage-2 adaptive GA wall time (FBNetV3 Algorithm 1, stage 2)",
        "",
        f"Command: `{command}`  ",
        f"Date (UTC): {meta['date_utc']}  ",
        f"Machine: {meta['processor']}, {meta['cpu_count']} cores ({meta['cpus_usable']} usable), "
        f"1-min load average at the end {meta['load_average_1m']}  ",
        f"Space: `{args.preset}` ({len(space.dims)} searched dimensions, architecture + recipe); "
        f"constraint {meta['constraint']}  ",
        f"Score: {score_desc}  ",
        f"GA: `GAConfig(max_per_arch={config.max_per_arch})`, other fields default "
        f"(K={config.population}, p={config.n_best}, q={config.n_random}, "
        f"{config.children_per_member} children/member, epsilon={config.epsilon:g}, patience={config.patience}, "
        f"max {config.max_generations} generations)",
        "",
        f"**Median GA time: {med:.2f} s = {med / PAPER_SECONDS:.3f} of the paper's one CPU minute.**",
        "",
        "| seed | GA s | / 60 s | generations | scored | dropped | score s | feasible s | best pred. | best MMACs "
        "| distinct archs in top-K | random-search best (same n) | random-search s | predictor fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['seconds']:.2f} | {r['ratio_vs_60s']:.3f} | {r['generations']} | {r['n_scored']} "
            f"| {r['n_dropped']} | {r['score_seconds']:.2f} | {r['feasible_seconds']:.2f} "
            f"| {r['best_predicted']:.4f} | {r['best_mmacs']:.1f} | {r['distinct_archs_top_k']} "
            f"| {r['random_search_best_predicted']:.4f} "
            f"| {r['random_search_seconds']:.2f} | {r['predictor_fit_seconds']:.2f} |"
        )
    lines += [
        "",
        'GA time excludes fitting the predictor (its own column). "score s" and "feasible s" are the',
        "parts of the GA time spent in the predictor and in the exact cost model + constraint.",
        "Runs are deterministic per seed (same generations, scored counts and scores on a rerun).",
        "",
    ]
    load = meta["load_average_1m"]
    if load is not None and affinity and load > affinity:
        lines += [
            f"The machine was shared while this ran (1-min load {load} on {affinity} cores), so these",
            "wall times are upper bounds; an idle machine is faster.",
            "",
        ]
    if config.max_per_arch is None and any(r["distinct_archs_top_k"] == 1 for r in rows):
        lines += [
            "With the paper's plain top-K the predictor's favourite architecture fills D* with K",
            "recipe variants (distinct archs = 1); `--max-per-arch 2` keeps the top-K diverse.",
            "",
        ]
    (args.out / "ga_time.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
