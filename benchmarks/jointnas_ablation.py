"""Ablation of JointNAS's acquisition and predictor settings on the search-quality benchmarks (issue 13).

Each variant is a set of ``JointNASSampler`` keyword arguments on top of the suite's JointNAS
(``benchmarks.search_quality``: batches of 8, a space-filling first batch, predictor batches, a
stage-2 batch of 8). Every variant runs the same seeds and budgets in batch mode (the 8 trials of
a batch are asked and suggested before any is told), and the table gives the median and IQR of
the best feasible value next to the suite's recorded TPE median at the same budget.

Variants:

- ``paper``: the literal FBNetV3 rule (pretrained encoder, predicted mean over a QMC pool, the
  GA over the whole space: ``trust_region=None``; so are all variants but the ``-tr`` ones).
- ``paper-nopretrain``: the same without proxy pretraining (random encoder trained with the head).
- ``ensemble``: bootstrap ensemble of 5 heads, Thompson slots, incumbent mutations in the pool.
- ``ensemble-nopretrain``: the same without pretraining.
- ``local``: the paper's mean, with incumbent mutations in the pool (``acquisition="ensemble"``
  with a single head: local search around the best trials, scored by the predictor).
- ``local-nopretrain``: ``local`` without pretraining.
- ``local-rank``: ``local`` with the pairwise ranking loss added (``rank_weight=1``; BRP-NAS).
- ``local-cv``: ``local`` with the head's weight decay chosen by 4-fold cross-validation on the
  evaluated trials (``cv_folds=4`` over 1e-3, 1e-2, 1e-1).
- ``paper-rank`` / ``paper-cv``: the paper's rule with the ranking loss / cross-validation.
- ``paper-tr0.5`` / ``paper-tr1`` / ``paper-tr2``: the paper's rule with the stage-2 GA held in a
  trust region of 0.5, 1 or 2 typical spacings around the 4 best trials (``trust_region``);
  ``paper-tr0.5`` is JointNAS's default.
- ``tr0.5-costin``: the default with the log costs as accuracy-head inputs as well
  (``PredictorConfig(cost_inputs=True)``); ``tr0.5-costin-nopretrain``: the costs as inputs *instead of*
  pretraining targets (the issue's "cost statistics as inputs instead of pretraining targets").
- ``tr0.5-cv``: the default with the head's weight decay chosen by 4-fold cross-validation.
- ``tr0.5-synflow``: the default, pretrained on the log SynFlow zero-cost proxy besides the log costs
  (``PredictorConfig(free_data="costs+synflow")``; JointSpaces only: the cifar and digits surrogates).

Resumable: every finished run is saved to the JSON at once, and a rerun of the same command skips
the (variant, seed, budget) runs already there. Each variant is compared with ``paper`` by a paired
Wilcoxon signed-rank test over the seeds (seeds are the pairs: every variant's first batch is the
same space-filling batch).

Usage::

    python -m benchmarks.jointnas_ablation nb201 [--seeds 5] [--budgets 32,64] [--variants paper,ensemble]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from benchmarks import _harness
from benchmarks import search_quality as sq
from optnas.predictor import PredictorConfig

#: The paper's GA (no trust region): every variant measured before ``trust_region`` existed.
_FREE: dict[str, Any] = {"trust_region": None}

VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {"acquisition": "paper", **_FREE},
    "paper-nopretrain": {"acquisition": "paper", "predictor_config": PredictorConfig(pretrain=False), **_FREE},
    "ensemble": {"acquisition": "ensemble", **_FREE},
    "ensemble-nopretrain": {
        "acquisition": "ensemble",
        "predictor_config": PredictorConfig(ensemble=5, bootstrap=True, pretrain=False),
        **_FREE,
    },
    "local": {"acquisition": "ensemble", "predictor_config": PredictorConfig(ensemble=1), **_FREE},
    "local-nopretrain": {
        "acquisition": "ensemble",
        "predictor_config": PredictorConfig(ensemble=1, pretrain=False),
        **_FREE,
    },
    "local-rank": {
        "acquisition": "ensemble",
        "predictor_config": PredictorConfig(ensemble=1, rank_weight=1.0),
        **_FREE,
    },
    "local-cv": {"acquisition": "ensemble", "predictor_config": PredictorConfig(ensemble=1, cv_folds=4), **_FREE},
    "paper-rank": {"acquisition": "paper", "predictor_config": PredictorConfig(rank_weight=1.0), **_FREE},
    "paper-cv": {"acquisition": "paper", "predictor_config": PredictorConfig(cv_folds=4), **_FREE},
    "paper-tr0.5": {"acquisition": "paper", "trust_region": 0.5},  # the default since 2026-12-04
    "paper-tr1": {"acquisition": "paper", "trust_region": 1.0},
    "paper-tr2": {"acquisition": "paper", "trust_region": 2.0},
    "tr0.5-costin": {
        "acquisition": "paper",
        "trust_region": 0.5,
        "predictor_config": PredictorConfig(cost_inputs=True),
    },
    "tr0.5-costin-nopretrain": {
        "acquisition": "paper",
        "trust_region": 0.5,
        "predictor_config": PredictorConfig(cost_inputs=True, pretrain=False),
    },
    "tr0.5-cv": {"acquisition": "paper", "trust_region": 0.5, "predictor_config": PredictorConfig(cv_folds=4)},
    "tr0.5-synflow": {
        "acquisition": "paper",
        "trust_region": 0.5,
        "predictor_config": PredictorConfig(free_data="costs+synflow"),
    },
}


#: JointNAS's default configuration among the variants; the ``tr0.5-`` variants build on it.
DEFAULT = "paper-tr0.5"


def reference(variant: str) -> str:
    """The variant a variant is tested against: the default for changes to it, else the paper's rule."""
    return DEFAULT if variant.startswith("tr0.5-") else "paper"


def _bench(name: str) -> sq.Benchmark:
    if name == "nb201":
        return sq.nb201()
    if name == "fcnet":
        return sq.fcnet()
    return sq.surrogate_benchmark(name)


def run_variant(bench: sq.Benchmark, variant: str, seed: int, budget: int) -> dict[str, Any]:
    extra = VARIANTS[variant]
    original = sq.make_sampler

    def patched(name: str, seed_: int, b: sq.Benchmark, budget_: int) -> Any:
        sampler = original(name, seed_, b, budget_)
        if name != "jointnas":
            return sampler
        from optnas.samplers import JointNASSampler

        kwargs = b.jointnas_kwargs or {"search_space": dict(b.search_space), "cost": b.cost}
        return JointNASSampler(
            batch_size=sq.BATCH,
            n_batches=budget_ // sq.BATCH - 1,
            seed=seed_,
            constraints=list(b.constraints),
            early_stopping_tau=None,
            **kwargs,
            **extra,
        )

    sq.make_sampler = patched
    try:
        out = sq.one_run(bench, "jointnas", seed, budget, "batch")
    finally:
        sq.make_sampler = original
    out["variant"] = variant
    return out


def cost_correlation(bench: sq.Benchmark, n: int = 2000, seed: int = 0) -> dict[str, float]:
    """Spearman correlation of the value with each log cost over ``n`` random configurations.

    What proxy pretraining can know: the encoder is pretrained to predict these costs, so it
    helps when they rank the values (sign-adjusted: > 0 means costlier is better).
    """
    import optuna
    from scipy.stats import spearmanr

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    values, costs = [], []
    for _ in range(n):
        trial = study.ask()
        params = sq.suggest(trial, bench.search_space)
        values.append(bench.sign * bench.value(params))
        costs.append(bench.cost(params))
        study.tell(trial, 0.0)
    return {k: float(spearmanr(values, np.log1p([c[k] for c in costs])).statistic) for k in costs[0]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("benchmark", choices=["nb201", "fcnet", "cifar", "digits"])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", default="32,64")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    args = ap.parse_args(argv)
    bench = _bench(args.benchmark)
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = args.variants.split(",")
    path = _harness.RESULTS / f"jointnas_ablation_{args.benchmark}.json"
    saved = json.loads(path.read_text())["result"].get("runs", []) if path.exists() else []
    runs = [r for r in saved if r["variant"] in variants and r["budget"] in budgets and r["seed"] < args.seeds]
    done = {(r["variant"], r["seed"], r["budget"]) for r in runs}
    keep = [r for r in saved if r not in runs]  # other variants' runs stay in the file
    command = _harness.command_line("benchmarks.jointnas_ablation", argv)
    start = time.time()
    for seed in range(args.seeds):
        for budget in budgets:
            for v in variants:
                if (v, seed, budget) in done:
                    continue
                runs.append(run_variant(bench, v, seed, budget))
                print(v, seed, budget, runs[-1]["curve"][-1], f"{time.time() - start:.0f}s", flush=True)
                _harness.write_partial(path, meta=_harness.metadata(command), result={"runs": keep + runs})
    peers: dict[str, Any] = {}
    recorded = _harness.RESULTS / f"search_quality_{args.benchmark}.json"
    if recorded.exists():
        table = json.loads(recorded.read_text())["result"]["summary"]["batch"]["table"]
        peers = {s: {str(b): table.get(s, {}).get(str(b), {}).get("median") for b in budgets} for s in table}
    rows = []
    summary: dict[str, Any] = {}

    def values(v: str, b: int) -> dict[int, float]:
        return {
            r["seed"]: sq.at(r["curve"], b, bench.infeasible_value)
            for r in runs
            if r["variant"] == v and r["budget"] == b
        }

    for v in variants:
        summary[v] = {}
        cells = [v]
        for b in budgets:
            mine = values(v, b)
            if not mine:
                cells.append("-")
                continue
            q1, med, q3 = np.percentile(list(mine.values()), [25, 50, 75])
            entry: dict[str, Any] = {"median": float(med), "q1": float(q1), "q3": float(q3), "n": len(mine)}
            cell = f"{med:.4g} [{q1:.4g}, {q3:.4g}]"
            ref = reference(v)
            base = values(ref, b)
            common = sorted(set(mine) & set(base))
            if v != ref and common:
                test = sq.wilcoxon([mine[k] for k in common], [base[k] for k in common], bench.sign)
                entry["vs_paper" if ref == "paper" else "vs_default"] = test
                cell += f"; {test['median_diff']:+.3g} vs {ref}, {test['wins']}/{test['ties']}/{test['losses']}"
                cell += f", p={test['p']:.2g}"
            summary[v][str(b)] = entry
            cells.append(cell)
        overhead = [r["sampler_s_per_trial"] for r in runs if r["variant"] == v]
        summary[v]["sampler_ms_per_trial"] = 1000 * float(np.median(overhead)) if overhead else None
        cells.append(f"{1000 * float(np.median(overhead)):.0f}" if overhead else "-")
        rows.append(cells)
    for s in ("tpe", "gp", "random"):
        if s in peers:
            cells = [f"{peers[s][str(b)]:.4g}" if peers[s][str(b)] else "-" for b in budgets]
            rows.append([f"{s} (suite, batch mode)", *cells, "-"])
    corr = cost_correlation(bench)
    body = [
        "Spearman correlation of the value with the log cost over 2,000 random configurations (> 0: costlier is "
        "better), i.e. what proxy pretraining on cost statistics can tell the predictor: "
        + ", ".join(f"{k} {v:+.2f}" for k, v in corr.items())
        + ".",
        "",
        f"{bench.name}, batch mode (8 asked before any is told), {args.seeds} seeds; median [q1, q3] of the best "
        f"feasible value ({bench.value_label}, {bench.direction}); then the paired difference from `paper` "
        f"(from the default `{DEFAULT}` for the `tr0.5-` variants; > 0: better), wins/ties/losses and the "
        "Wilcoxon p over the seeds. Overhead: median sampler time per trial.",
        "",
        *_harness.md_table(["variant", *[f"{b} trials" for b in budgets], "ms / trial"], rows),
    ]
    ranked = [v for v in variants if str(budgets[-1]) in summary[v]]
    best = max(ranked, key=lambda v: bench.sign * summary[v][str(budgets[-1])]["median"])
    _harness.write_report(
        f"jointnas_ablation_{args.benchmark}",
        meta=_harness.metadata(command),
        result={"summary": summary, "peers": peers, "cost_correlation": corr, "runs": keep + runs},
        body=body,
        title=f"JointNAS ablation on {bench.name}",
        headline=f"best variant at {budgets[-1]} trials: {best} ({summary[best][str(budgets[-1])]['median']:.4g})",
    )
    print("\n".join(body))


if __name__ == "__main__":
    main()
