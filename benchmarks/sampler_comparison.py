"""Search efficiency under a constraint: JointNASSampler against Optuna's own samplers.

Superseded by ``python -m benchmarks.search_quality cifar`` (the same surrogate, both modes, 20 seeds,
the JointNAS cost-function API); kept for the recorded ``sampler_comparison`` results.

Every sampler searches the same ``cifar`` joint space under the same MACs constraint, on the
surrogate benchmark of ``benchmarks/surrogate.py`` (fitted on real reduced-CIFAR-10 training
runs), through :class:`surrogate.SurrogateObjective`, which records the constraint exactly as the
real objective does (``optnas.constraints.record`` -> ``trial.set_constraint``) and returns 0.0
for an infeasible candidate without "training" it.

- Constraint: ``max_macs(median MACs of a 16,384-point QMC pool at 10 classes)``, which cuts the
  space in half.
- ``JointNASSampler`` (FBNetV3 Alg. 1, stage 1 + stage 2) is run once per budget with a plan of
  exactly that many trials: 16 = 3 batches of 4 + K=4, 32 = 3 x 8 + 8, 64 = 7 x 8 + 8. Early
  stopping is off (the surrogate has no learning curves).
- ``TPESampler(multivariate=True)``, ``GPSampler``, ``RandomSampler``, ``QMCSampler(scramble=True)``
  are budget-agnostic: one 64-trial run per seed gives the 16- and 32-trial results as prefixes.
  TPE and GP read the constraint from the trials: Optuna 5 stores ``trial.set_constraint``
  values in system attributes, ``FrozenTrial.constraints`` returns them, TPE ranks infeasible
  trials after feasible ones (``_split_trials``) and GP switches to its constrained acquisition
  function (``_is_constrained_optimization``); their ``constraints_func`` argument is deprecated.
- Reported: median and IQR of the best feasible accuracy per budget, the trials each sampler's
  median best-so-far curve needs to reach TPE's 64-trial median, and the sampler overhead per
  trial (``optimize`` wall time minus the objective's evaluation time after ``suggest``, over trials).

    python -m benchmarks.sampler_comparison [--seeds 10] [--budgets 16,32,64] [--csv ...] [--time-limit MIN]

Results are written after every run to ``benchmarks/results/sampler_comparison.json`` (a rerun
with the same settings resumes from it) and at the end to ``.md`` and a plot (``.png`` through
kaleido, else ``.html``). Without internet, give kaleido Debian's Chromium:
``apt-get install chromium; pip install kaleido; BROWSER_PATH=/usr/bin/chromium python ... --report-only``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from benchmarks import _harness
from benchmarks.surrogate import DEFAULT_CSV, Surrogate, SurrogateObjective, load_surrogate
from optnas.constraints import Constraint, max_macs
from optnas.cost import count_columns
from optnas.space import JointSpace, preset

REPO = Path(__file__).resolve().parents[1]
SAMPLERS = ("jointnas", "tpe", "gp", "random", "qmc")
#: (batch_size m, n_batches T, final_batch_size K) with T * m + K = budget
JOINTNAS_PLANS = {16: (4, 3, 4), 32: (8, 3, 8), 64: (8, 7, 8)}


def median_macs_limit(space: JointSpace, num_classes: int = 10, n: int = 16384, seed: int = 0) -> float:
    """Median MACs of an ``n``-point QMC pool: a limit that about half the space meets."""
    return float(np.median(count_columns(space, space.sample(n, seed), num_classes).macs))


def make_sampler(name: str, seed: int, space: JointSpace, constraints: list[Constraint], budget: int) -> Any:
    """A fresh sampler; JointNAS is planned for exactly ``budget`` trials."""
    if name == "jointnas":
        from optnas.samplers import JointNASSampler

        m, t, k = JOINTNAS_PLANS[budget]
        s = JointNASSampler(
            space=space,
            num_classes=10,
            constraints=constraints,
            batch_size=m,
            n_batches=t,
            final_batch_size=k,
            seed=seed,
            early_stopping_tau=None,
        )
        if s.n_planned != budget:
            raise RuntimeError(f"plan {m, t, k} gives {s.n_planned} trials, not {budget}")
        return s
    if name == "tpe":
        return optuna.samplers.TPESampler(multivariate=True, seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, scramble=True)
    raise ValueError(name)


def one_run(
    name: str, seed: int, budget: int, space: JointSpace, surrogate: Surrogate, constraints: list[Constraint]
) -> dict[str, Any]:
    """One study of ``budget`` trials; best-so-far feasible accuracy after each trial."""
    sampler = make_sampler(name, seed, space, constraints, budget)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    objective = SurrogateObjective(surrogate, constraints)
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=budget)
    wall = time.perf_counter() - t0
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    best, curve, feasible = -math.inf, [], []
    for tr in trials:
        ok = bool(tr.user_attrs.get("feasible")) and tr.value is not None
        feasible.append(ok)
        if ok and tr.value is not None:
            best = max(best, float(tr.value))
        curve.append(best if best > -math.inf else None)
    return {
        "sampler": name,
        "seed": seed,
        "budget": budget,
        "curve": curve,
        "n_feasible": int(sum(feasible)),
        "wall_s": wall,
        "objective_s": objective.eval_seconds,
        "overhead_s_per_trial": (wall - objective.eval_seconds) / budget,
    }


def _at(curve: list[float | None], n: int) -> float:
    v = curve[n - 1] if len(curve) >= n else None
    return 0.0 if v is None else float(v)  # no feasible trial yet: the infeasible value


def summarize(runs: list[dict[str, Any]], budgets: list[int]) -> dict[str, Any]:
    """Per sampler and budget: median/IQR of the best feasible accuracy; trials to TPE's target."""
    top = max(budgets)

    def runs_for(sampler: str, budget: int) -> list[dict[str, Any]]:
        if sampler == "jointnas":
            return [r for r in runs if r["sampler"] == sampler and r["budget"] == budget]
        return [r for r in runs if r["sampler"] == sampler and r["budget"] == top]

    samplers = [s for s in SAMPLERS if any(r["sampler"] == s for r in runs)]
    table: dict[str, Any] = {}
    for s in samplers:
        table[s] = {}
        for b in budgets:
            vals = [_at(r["curve"], b) for r in runs_for(s, b)]
            if not vals:
                continue
            q1, med, q3 = (float(x) for x in np.percentile(vals, [25, 50, 75]))
            table[s][str(b)] = {"n_seeds": len(vals), "median": med, "q1": q1, "q3": q3, "iqr": q3 - q1}
    target = table.get("tpe", {}).get(str(top), {}).get("median")
    reach: dict[str, Any] = {}
    curves: dict[str, list[float]] = {}
    for s in samplers:
        rs = runs_for(s, top)
        if not rs:
            continue
        mat = np.array([[_at(r["curve"], n) for n in range(1, top + 1)] for r in rs])
        med = np.median(mat, axis=0)
        curves[s] = [float(x) for x in med]
        if target is None:
            continue
        hit = np.nonzero(med >= target - 1e-12)[0]
        per_seed = [int(np.nonzero(row >= target - 1e-12)[0][0]) + 1 for row in mat if np.any(row >= target - 1e-12)]
        entry: dict[str, Any] = {
            "median_curve_trials": int(hit[0]) + 1 if len(hit) else None,
            "seeds_reaching": len(per_seed),
            "n_seeds": len(rs),
            "per_seed_median_trials": float(np.median(per_seed)) if len(per_seed) * 2 > len(rs) else None,
        }
        if s == "jointnas":  # the smallest planned budget whose median reaches the target
            ok = [b for b in budgets if table[s].get(str(b), {}).get("median", -1.0) >= target - 1e-12]
            entry["smallest_budget_reaching"] = min(ok) if ok else None
        reach[s] = entry
    overhead = {
        s: {
            "median_s_per_trial": float(np.median([r["overhead_s_per_trial"] for r in runs if r["sampler"] == s])),
            "runs": sum(1 for r in runs if r["sampler"] == s),
        }
        for s in samplers
    }
    feas = {
        s: float(np.median([r["n_feasible"] / r["budget"] for r in runs_for(s, top)]))
        for s in samplers
        if runs_for(s, top)
    }
    return {
        "table": table,
        "target": target,
        "reach": reach,
        "median_curves": curves,
        "overhead": overhead,
        "feasible_fraction": feas,
    }


def plot(runs: list[dict[str, Any]], summary: dict[str, Any], budgets: list[int], out: Path) -> str:
    """Median best-so-far curves with IQR bands; PNG via kaleido, HTML if that fails."""
    import plotly.graph_objects as go

    top = max(budgets)
    fig = go.Figure()
    colors = {"jointnas": "#d62728", "tpe": "#1f77b4", "gp": "#2ca02c", "random": "#7f7f7f", "qmc": "#9467bd"}
    for s in SAMPLERS:
        for b in budgets if s == "jointnas" else [top]:
            rs = [r for r in runs if r["sampler"] == s and r["budget"] == b]
            if not rs:
                continue
            mat = np.array([[_at(r["curve"], n) for n in range(1, b + 1)] for r in rs])
            x = list(range(1, b + 1))
            q1, med, q3 = np.percentile(mat, [25, 50, 75], axis=0)
            label = f"JointNAS (plan {b})" if s == "jointnas" else s.upper() if s in ("tpe", "gp", "qmc") else s
            dash = {16: "dot", 32: "dash"}.get(b, "solid") if s == "jointnas" else "solid"
            fig.add_trace(
                go.Scatter(
                    x=x + x[::-1],
                    y=list(q3) + list(q1[::-1]),
                    fill="toself",
                    opacity=0.12,
                    line={"width": 0},
                    fillcolor=colors[s],
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
            fig.add_trace(go.Scatter(x=x, y=list(med), name=label, line={"color": colors[s], "dash": dash}))
    meds = [
        np.median([_at(r["curve"], min(8, r["budget"])) for r in runs if r["sampler"] == s])
        for s in SAMPLERS
        if any(r["sampler"] == s for r in runs)
    ]
    best = max(max((v for v in r["curve"] if v is not None), default=0.0) for r in runs)
    low = float(min(meds)) if meds else 0.0
    fig.update_yaxes(range=[low - 0.1 * (best - low + 1e-3), best + 0.05 * (best - low + 1e-3)])
    if summary.get("target") is not None:
        fig.add_hline(
            y=summary["target"], line={"dash": "dot", "color": "black"}, annotation_text="TPE median at 64 trials"
        )
    fig.update_layout(
        title="Best feasible surrogate accuracy (median over seeds, IQR band)",
        xaxis_title="trials",
        yaxis_title="best feasible validation accuracy (surrogate)",
        width=900,
        height=560,
        template="plotly_white",
    )
    try:
        fig.write_image(str(out.with_suffix(".png")))
        return out.with_suffix(".png").name
    except Exception as exc:  # kaleido needs a Chrome; fall back to HTML
        fig.write_html(str(out.with_suffix(".html")), include_plotlyjs="cdn")
        return f"{out.with_suffix('.html').name} (PNG export failed: {type(exc).__name__})"


def write_md(meta: dict[str, Any], summary: dict[str, Any], budgets: list[int], figure: str, out: Path) -> None:
    names = {
        "jointnas": "JointNAS (stage 1 + 2)",
        "tpe": "TPE (multivariate)",
        "gp": "GP",
        "random": "Random",
        "qmc": "QMC (Sobol)",
    }
    table, target, reach = summary["table"], summary["target"], summary["reach"]
    top = max(budgets)
    lines = [
        "# Sampler comparison on the surrogate benchmark (same space, same constraint)",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date (UTC): {meta['date']}  ",
        f"Machine: {meta['cores']} cores, shared with other jobs (load average {meta['load_end']:.1f} at the end)  ",
        f"Space: `cifar` ({meta['dims']} searched dimensions); constraint MACs <= {meta['max_macs']:,.0f} "
        f"(median of a 16,384-point QMC pool at 10 classes)  ",
        f"Objective: surrogate fitted on {meta['surrogate_rows']} real reduced-CIFAR-10 evaluations "
        f"({meta['surrogate_family']}, CV R^2 {meta['surrogate_r2']:.3f}, Kendall tau {meta['surrogate_tau']:.3f}); "
        "noise-free; infeasible trials return 0.0 untrained, as the real objective does  ",
        f"Seeds: {_seed_range(table)} per sampler and budget"
        + (f" (**partial run**: {meta['seeds']} were planned; GP runs last)" if meta.get("partial") else "")
        + ". JointNAS plans: "
        + ", ".join(f"{b} = {m}x{t}+{k}" for b, (m, t, k) in JOINTNAS_PLANS.items() if b in budgets)
        + " (m x T + K); the other samplers' 16/32 results are the prefixes of their 64-trial runs.",
        "",
        _headline(summary),
        "",
        "## Best feasible accuracy (median [IQR] over seeds)",
        "",
        "| sampler | seeds | " + " | ".join(f"{b} trials" for b in budgets) + f" | ratio to TPE at {top} |",
        "|---|---:|" + "---:|" * (len(budgets) + 1),
    ]
    for s, rows in table.items():
        cells = [
            f"{rows[str(b)]['median']:.4f} [{rows[str(b)]['q1']:.4f}, {rows[str(b)]['q3']:.4f}]"
            if str(b) in rows
            else "-"
            for b in budgets
        ]
        ratio = rows[str(top)]["median"] / target if target and str(top) in rows else float("nan")
        seeds = sorted({cell["n_seeds"] for cell in rows.values()})
        n = "/".join(str(x) for x in seeds)
        lines.append(f"| {names[s]} | {n} | " + " | ".join(cells) + f" | {ratio:.3f} |")
    lines += ["", f"## Trials to reach TPE's {top}-trial median ({target:.4f})" if target is not None else "", ""]
    if target is not None:
        lines += [
            "| sampler | trials (median curve) | ratio to TPE | seeds reaching it within 64 "
            "| smallest JointNAS plan reaching it |",
            "|---|---:|---:|---:|---:|",
        ]
        tpe_n = reach.get("tpe", {}).get("median_curve_trials")
        for s, r in reach.items():
            n = r["median_curve_trials"]
            ratio = f"{n / tpe_n:.2f}" if n and tpe_n else "-"
            small = r.get("smallest_budget_reaching", "")
            lines.append(
                f"| {names[s]} | {n if n else f'not within {top}'} | {ratio} | {r['seeds_reaching']}/{r['n_seeds']} | "
                f"{small if small is not None else 'none'} |"
            )
        lines.append("")
        lines.append(
            "The JointNAS row uses its 64-trial plan's curve (its 16- and 32-trial plans end in their own stage 2, "
            "so they are separate runs; the last column says whether their medians reach the target)."
        )
    lines += [
        "",
        "## Sampler overhead and feasibility",
        "",
        "| sampler | overhead s / trial (median over runs) | ratio to TPE | feasible fraction of trials |",
        "|---|---:|---:|---:|",
    ]
    tpe_o = summary["overhead"].get("tpe", {}).get("median_s_per_trial")
    for s, o in summary["overhead"].items():
        ratio = f"{o['median_s_per_trial'] / tpe_o:.1f}" if tpe_o else "-"
        frac = summary["feasible_fraction"].get(s, float("nan"))
        lines.append(f"| {names[s]} | {o['median_s_per_trial']:.4f} | {ratio} | {frac:.2f} |")
    lines += [
        "",
        "Overhead = `study.optimize` wall time minus the objective's evaluation time (everything after the "
        "parameters are suggested; Optuna samples lazily inside `suggest_*`), per trial, in-memory storage; "
        "for JointNAS it includes the predictor fits (once per batch) and the stage-2 GA.",
        "",
        f"Plot (median best-so-far per sampler, IQR band; the y axis starts near the medians after 8 trials): "
        f"![best-so-far curves]({figure.split(' ')[0]}) {figure if ' ' in figure else ''}",
        "",
        "## Verdict",
        "",
    ]
    lines += verdict(summary, budgets)
    if meta["surrogate_r2"] <= 0 or meta["surrogate_tau"] <= 0:
        lines += [
            "",
            f"**Caveat: the surrogate is not predictive** (fitted on {meta['surrogate_rows']} evaluations; "
            f"cross-validated R^2 {meta['surrogate_r2']:.3f}, Kendall tau {meta['surrogate_tau']:.3f}; see "
            "surrogate.md). The samplers were compared on a fixed, deterministic but essentially arbitrary "
            "landscape (a tree ensemble's splits on a handful of points) over the real space and constraint, "
            "not on real CIFAR-10 accuracy. Rerun after `benchmarks/generate_evals.py` has added rows.",
        ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def _headline(summary: dict[str, Any]) -> str:
    """One bold line: trials to TPE's target (JointNAS vs TPE) and JointNAS vs GP at 32 trials."""
    reach, table, bits = summary["reach"], summary["table"], []
    j, t = reach.get("jointnas", {}).get("median_curve_trials"), reach.get("tpe", {}).get("median_curve_trials")
    if j and t:
        bits.append(f"JointNAS reaches TPE's 64-trial median after {j} trials (TPE {t}; ratio {j / t:.2f})")
    if "32" in table.get("jointnas", {}) and "32" in table.get("gp", {}):
        a, b = table["jointnas"]["32"]["median"], table["gp"]["32"]["median"]
        bits.append(f"at 32 trials JointNAS {a:.4f} vs GP {b:.4f} (ratio {a / b:.3f})")
    return f"**{'; '.join(bits)}.**" if bits else ""


def _seed_range(table: dict[str, Any]) -> str:
    counts = [cell["n_seeds"] for rows in table.values() for cell in rows.values()]
    lo, hi = min(counts, default=0), max(counts, default=0)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def verdict(summary: dict[str, Any], budgets: list[int]) -> list[str]:
    """Plain statements of the issue's two targets."""
    out = []
    table, target, reach = summary["table"], summary["target"], summary["reach"]
    j = reach.get("jointnas")
    if target is not None and j is not None:
        n = j.get("median_curve_trials")
        small = j.get("smallest_budget_reaching")
        half = max(budgets) // 2
        ok = (n is not None and n <= half) or (small is not None and small <= half)
        out.append(
            f"- Target 1 (reach TPE's {max(budgets)}-trial median in half the trials or fewer, <= {half}): "
            f"**{'met' if ok else 'not met'}** — JointNAS's median curve reaches it at "
            f"{n if n else 'no point within ' + str(max(budgets))} trials; smallest plan reaching it: {small}."
        )
    if "32" in table.get("jointnas", {}) and "32" in table.get("gp", {}):
        a, b = table["jointnas"]["32"]["median"], table["gp"]["32"]["median"]
        out.append(
            f"- Target 2 (lead GPSampler at 32 trials): **{'met' if a > b else 'not met'}** — "
            f"JointNAS {a:.4f} vs GP {b:.4f} (median best feasible accuracy, ratio {a / b if b else float('nan'):.3f})."
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default="16,32,64")
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sampler_comparison")
    ap.add_argument("--fresh", action="store_true", help="ignore partial results in the JSON")
    ap.add_argument("--report-only", action="store_true", help="write the report from the runs in the JSON")
    ap.add_argument("--time-limit", type=float, default=None, help="minutes; start no run after it (resumable)")
    args = ap.parse_args(argv)
    budgets = sorted(int(b) for b in args.budgets.split(","))
    samplers = [s for s in args.samplers.split(",") if s]
    for s in samplers:
        if s not in SAMPLERS:
            ap.error(f"unknown sampler {s!r}")
    for b in budgets:
        if "jointnas" in samplers and b not in JOINTNAS_PLANS:
            ap.error(f"no JointNAS plan for budget {b}")
    if args.report_only:
        saved = json.loads(args.out.with_suffix(".json").read_text())
        report(saved["meta"], saved["runs"], budgets, args.out, partial=bool(saved.get("partial")))
        return 0
    import torch

    torch.set_num_threads(1)  # JointNAS's predictor and GP's kernel fits: small matrices, busy host
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    space = preset("cifar")
    surrogate = load_surrogate(args.csv, space=space)
    limit = median_macs_limit(space)
    constraints = [max_macs(limit)]
    meta: dict[str, Any] = _harness.metadata(
        _harness.command_line("benchmarks.sampler_comparison", argv),
        seeds=args.seeds,
        budgets=budgets,
        samplers=samplers,
        dims=len(space.dims),
        max_macs=limit,
        surrogate_rows=surrogate.n_rows,
        surrogate_family=surrogate.family,
        surrogate_r2=surrogate.cv[surrogate.family]["r2"],
        surrogate_tau=surrogate.cv[surrogate.family]["kendall_tau"],
        surrogate_csv_sha256=surrogate.payload["csv_digest"],
    )
    path = args.out.with_suffix(".json")
    runs: list[dict[str, Any]] = []
    if path.exists() and not args.fresh:
        old = json.loads(path.read_text())
        if old.get("meta", {}).get("surrogate_csv_sha256") == meta["surrogate_csv_sha256"]:
            runs = old.get("runs", [])
    done = {(r["sampler"], r["seed"], r["budget"]) for r in runs}
    jobs: list[tuple[str, int, int]] = []
    # seeds outer (partial results stay balanced); GP, by far the slowest, after all the others
    for group in ([s for s in samplers if s != "gp"], [s for s in samplers if s == "gp"]):
        for seed in range(args.seeds):
            for s in group:
                for b in budgets if s == "jointnas" else [max(budgets)]:
                    if (s, seed, b) not in done:
                        jobs.append((s, seed, b))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def save() -> None:
        path.write_text(json.dumps({"meta": meta, "partial": True, "runs": runs}, indent=1))

    partial = False
    for i, (s, seed, b) in enumerate(jobs):
        if args.time_limit is not None and time.perf_counter() - started > args.time_limit * 60:
            print(f"time limit reached: {len(jobs) - i} runs left; rerun the same command to resume", flush=True)
            partial = True
            break
        r = one_run(s, seed, b, space, surrogate, constraints)
        runs.append(r)
        save()
        el = time.perf_counter() - started
        print(
            f"[{i + 1}/{len(jobs)}] {s} seed {seed} budget {b}: best {_at(r['curve'], b):.4f} "
            f"feasible {r['n_feasible']}/{b} overhead {r['overhead_s_per_trial']:.3f}s/trial "
            f"({el / 60:.1f} min elapsed)",
            flush=True,
        )
    meta["wall_min"] = (time.perf_counter() - started) / 60
    report(meta, runs, budgets, args.out, partial=partial)
    return 0


def report(meta: dict[str, Any], runs: list[dict[str, Any]], budgets: list[int], out: Path, *, partial: bool) -> None:
    """Summary, plot, JSON and Markdown from the runs so far."""
    summary = summarize(runs, budgets)
    meta["load_end"] = os.getloadavg()[0]
    meta["partial"] = partial
    figure = plot(runs, summary, budgets, out)
    meta["figure"] = figure
    meta["status"] = "partial" if partial else "complete"
    meta["headline"] = _headline(summary).strip("*")
    out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "partial": partial, "summary": summary, "runs": runs}, indent=1)
    )
    write_md(meta, summary, budgets, figure, out)
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    sys.exit(main())
