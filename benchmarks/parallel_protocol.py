"""How JointNAS's parallel workers should coordinate: a batch barrier or asynchronous planning.

Issue 12 asked for the multi-worker protocol to be chosen by measurement. Both keep the same
storage guarantees (atomic positions, Optuna's own retries as waiting trials); they differ in
*when* a trial's candidate is chosen:

* ``barrier`` (FBNetV3's Algorithm 1 literally, the design before this measurement): batch ``t``
  is chosen once no trial of an earlier batch is running, from all of their results. Workers idle
  while the slowest trial of a batch finishes. Driving the sampler with all ``m`` trials of a
  batch asked before any is told gives exactly these batches.
* ``async`` (the design chosen, as GPSampler's qLogEI treats pending points): a worker that frees
  up picks at once, from the completed trials of the earlier batches, with the running ones
  pending (left out of the pool, kept at a distance). No idle time, but a pick may see fewer
  results.

Two measurements, in one run:

1. **Search quality** on NAS-Bench-201 (``benchmarks.search_quality``'s benchmark, model-size
   constraint), batch 8, 64 trials: ``barrier`` asks all 8 trials of a batch before any is told;
   ``async`` keeps 8 trials in flight and, each time the oldest is told, asks the next one (the
   sampler then plans with the running ones pending).
2. **Worker utilization** of the barrier, from the wall times of the real reduced-CIFAR-10
   trainings in ``benchmarks/data/cifar_evals.csv``: 8 workers, 64 trainings in random order;
   barrier makespan = the sum over batches of the slowest training, async makespan = greedy list
   scheduling. Utilization = busy time / (workers × makespan).

Run::

    python -m benchmarks.parallel_protocol --seeds 8
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from scipy import stats

from benchmarks import _harness
from benchmarks.search_quality import BATCH, Benchmark, make_sampler, nb201, suggest

RESULT = "parallel_protocol"
CSV = Path(__file__).parent / "data" / "cifar_evals.csv"


def quality_run(bench: Benchmark, seed: int, budget: int, mode: str) -> dict[str, Any]:
    """Best feasible value after ``budget`` trials of JointNAS, planned ``barrier`` or ``async``."""
    sampler = make_sampler("jointnas", seed, bench, budget)
    study = optuna.create_study(direction=bench.direction, sampler=sampler)
    names = [c.name for c in bench.constraints]
    flight: deque[tuple[optuna.Trial, dict[str, Any], bool]] = deque()
    best: float | None = None
    asked = told = 0
    t0 = time.perf_counter()

    def ask() -> None:
        nonlocal asked
        tr = study.ask()
        p = suggest(tr, bench.search_space)
        cons = bench.constraint_values(p)
        for n in names:
            tr.set_constraint(n, cons[n])
        flight.append((tr, p, all(cons[n] <= 0.0 for n in names)))
        asked += 1

    while told < budget:
        if mode == "barrier":
            for _ in range(min(BATCH, budget - asked)):
                ask()
        else:
            while len(flight) < BATCH and asked < budget:
                ask()
        n_tell = len(flight) if mode == "barrier" else 1
        for _ in range(n_tell):
            tr, p, ok = flight.popleft()
            v = float(bench.value(p)) if ok else bench.infeasible_value
            study.tell(tr, v)
            told += 1
            if ok and (best is None or bench.sign * v > bench.sign * best):
                best = v
    return {
        "mode": mode,
        "seed": seed,
        "best": best,
        "s_per_trial": (time.perf_counter() - t0) / budget,
    }


def utilization(durations: list[float], workers: int, n: int, reps: int, seed: int) -> dict[str, Any]:
    """Barrier and async utilization of ``workers`` over ``n`` trainings drawn from ``durations``."""
    rng = np.random.default_rng(seed)
    barrier, asyn = [], []
    for _ in range(reps):
        d = rng.choice(np.asarray(durations), size=n, replace=False)
        busy = float(d.sum())
        span_barrier = sum(float(d[i : i + workers].max()) for i in range(0, n, workers))
        free = np.zeros(workers)
        for x in d:  # greedy: the next training goes to the first free worker
            k = int(np.argmin(free))
            free[k] += x
        barrier.append(busy / (workers * span_barrier))
        asyn.append(busy / (workers * float(free.max())))
    return {
        "workers": workers,
        "trainings": n,
        "repetitions": reps,
        "barrier_median": statistics.median(barrier),
        "async_median": statistics.median(asyn),
        "barrier_over_async_time": statistics.median(a / b for a, b in zip(asyn, barrier, strict=True)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--budget", type=int, default=64)
    args = ap.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    meta = _harness.metadata(_harness.command_line("benchmarks.parallel_protocol", argv))
    bench = nb201()
    runs = [quality_run(bench, s, args.budget, m) for s in range(args.seeds) for m in ("barrier", "async")]
    best = {m: [float(r["best"]) for r in runs if r["mode"] == m] for m in ("barrier", "async")}
    diffs = [a - b for a, b in zip(best["barrier"], best["async"], strict=True)]
    test = stats.wilcoxon(diffs, alternative="greater") if any(diffs) else None
    with CSV.open() as f:
        durations = [float(r["wall_time"]) for r in csv.DictReader(f) if r.get("wall_time")]
    util = utilization(durations, BATCH, args.budget, 1000, 0)
    speed = {m: statistics.median(r["s_per_trial"] for r in runs if r["mode"] == m) for m in ("barrier", "async")}
    result = {
        "benchmark": bench.name,
        "budget": args.budget,
        "runs": runs,
        "median_best": {m: statistics.median(v) for m, v in best.items()},
        "barrier_minus_async": {
            "median": statistics.median(diffs),
            "wilcoxon_p": None if test is None else float(test.pvalue),
        },
        "sampler_s_per_trial": speed,
        "utilization": util,
    }
    mb = result["median_best"]
    headline = (
        f"NB201, batch 8, {args.budget} trials, {args.seeds} seeds: barrier {mb['barrier']:.2f} vs async "
        f"{mb['async']:.2f} median best accuracy; the barrier keeps {util['barrier_median']:.0%} of the workers busy "
        f"on real reduced-CIFAR-10 training times (async {util['async_median']:.0%})"
    )
    p_text = "-" if test is None else f"{test.pvalue:.3g}"
    body = [
        "## Search quality (NAS-Bench-201, model-size constraint)",
        "",
        *_harness.md_table(
            ["planning", "median best", "IQR", "sampler s/trial"],
            [
                [m, f"{mb[m]:.3f}", f"{q25:.3f}-{q75:.3f}", f"{speed[m]:.3f}"]
                for m in ("barrier", "async")
                for q25, q75 in [np.percentile(best[m], [25, 75])]
            ],
        ),
        "",
        f"Paired difference barrier - async: median {result['barrier_minus_async']['median']:+.3f}, "
        f"one-sided Wilcoxon p = {p_text}.",
        "",
        "## Worker utilization (8 workers, real training times)",
        "",
        f"From {len(durations)} measured reduced-CIFAR-10 trainings ({min(durations):.0f}-{max(durations):.0f} s), "
        f"{util['repetitions']} random orders of {util['trainings']}: barrier {util['barrier_median']:.1%}, async "
        f"{util['async_median']:.1%}; the barrier's wall time is {util['barrier_over_async_time']:.2f}x the async one.",
    ]
    _harness.write_report(RESULT, meta=meta, result=result, body=body, title="Parallel protocol", headline=headline)
    print(headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
