"""Search quality with real training, no surrogate: the main job's digits study, JointNAS against Optuna's samplers.

    python -m benchmarks.digits_training [--seeds 10] [--trials 32] [--samplers jointnas,tpe,gp,random]
                                         [--modes batch,sequential] [--time-limit MIN] [--report-only]

Item 4 of the issue-13 suite ("real training, no surrogate: the digits study"). Every trial really
trains and evaluates a network of the built-in ``digits`` JointSpace on scikit-learn's digits with the
main job's objective (:class:`optnas.studies.JointNASObjective`: exact cost, ``trial.set_constraint``,
an infeasible candidate is never trained and scores 0.0, a feasible one returns its validation
accuracy), the data split, constraint (``max_macs = 1e6``) and ``[train]`` section of
``studies/jointnas_digits.toml`` (the file ``bash .ci/main`` runs), one torch thread.

Samplers: ``jointnas`` (``JointNASSampler`` with its defaults, planned for the budget in batches of 8:
a space-filling batch 0, ``trials / 8 - 2`` predictor-chosen batches and a stage-2 batch; its
early-stopping budgets included, as in the main job), ``tpe`` (multivariate, constant liar), ``gp``
and ``random``, built by :func:`benchmarks.search_quality.make_sampler` for the peers. Modes as in
``search_quality``: ``batch`` (8 trials asked and suggested before any is trained and told, as 8
parallel workers would) and ``sequential``.

Seeds: run ``seed`` seeds the sampler; trial ``n`` of it is trained with the seed
``SeedSequence([seed, n])`` (model init, shuffling, augmentation, mixup, dropout), the same for every
sampler, so a run is reproducible on its own and trial ``n`` of two samplers differs only in the
candidate. (The main job trains every candidate with the study seed; a fixed training seed across the
trials of a run would make the benchmark's noise correlated within a run.)

Incremental and resumable: each finished (sampler, seed, mode) run is written at once to
``benchmarks/results/digits_train_runs/<mode>-<sampler>-seed<k>.json`` and the report
``benchmarks/results/digits_train.{json,md}`` (shared harness) is rewritten from every saved run with
the same settings; rerunning the command skips the finished runs. Runs are ordered seeds outer, so a
partial run stays balanced across samplers.

Reported per mode: median and IQR of the best feasible validation accuracy after 8/16/24/32 trials (for
JointNAS the prefixes of its 32-trial plan: at 24 trials its stage-2 batch has not run yet), a paired
Wilcoxon signed-rank test (pairs: same seed) of JointNAS against each peer, the feasible fraction and
the time per trial (training and sampler), and the main job's target from issue 13: "the best of the
predictor-chosen trials (batches >= 1) beats the best of the space-filling batch 0 in at least 8 of 10
seeds", counted on the JointNAS runs (the peers' trials 9-32 against their trials 1-8 are shown for
reference; for exchangeable trials that happens with probability 24/32 = 0.75 by chance alone).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from benchmarks import _harness
from benchmarks import search_quality as sq

MODULE = "benchmarks.digits_training"
NAME = "digits_train"
SAMPLERS = ("jointnas", "tpe", "gp", "random")
MODES = ("batch", "sequential")  # batch first: the priority
BATCH = sq.BATCH
TRIALS = 32
STUDY_FILE = _harness.REPO / "studies" / "jointnas_digits.toml"
RUNS_DIR = "digits_train_runs"


def train_seed(seed: int, number: int) -> int:
    """Training seed of trial ``number`` of run ``seed`` (a 31-bit integer from ``SeedSequence``)."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1, dtype=np.uint32)[0] >> 1)


@dataclasses.dataclass(frozen=True)
class Context:
    """The main job's study, loaded once: space, data, constraints, training section."""

    config: Any
    data: Any
    train: Any
    epochs: int | None  # override of the recipe's epochs (tests only); None: the study file's
    acquisition: str | None = None  # JointNAS's acquisition (an ablation); None: its default
    trust_region: float | None = None  # JointNAS's stage-2 trust region (an ablation); None: its default

    @classmethod
    def load(
        cls,
        study_file: Path = STUDY_FILE,
        epochs: int | None = None,
        acquisition: str | None = None,
        trust_region: float | None = None,
    ) -> Context:
        from optnas.studies import load_data, load_study_file

        config = load_study_file(study_file)
        train = config.train if epochs is None else dataclasses.replace(config.train, epochs=int(epochs))
        data = load_data(config)
        return cls(config, data, train, epochs, acquisition=acquisition, trust_region=trust_region)

    def jointnas_options(self) -> dict[str, Any]:
        """``JointNASSampler`` keyword arguments of the ablation (none: its defaults)."""
        out: dict[str, Any] = {}
        if self.acquisition:
            out["acquisition"] = self.acquisition
        if self.trust_region is not None:
            out["trust_region"] = self.trust_region
        return out

    def settings(self, trials: int) -> dict[str, Any]:
        """What a saved run must match to be reused."""
        return {
            "trials": trials,
            "batch": BATCH,
            "epochs_override": self.epochs,
            "study_file": STUDY_FILE.relative_to(_harness.REPO).as_posix(),
            "study_file_sha256": hashlib.sha256(STUDY_FILE.read_bytes()).hexdigest(),
            **{f"jointnas_{k}": v for k, v in self.jointnas_options().items()},
        }

    def objective(self, seed: int, number: int) -> Any:
        from optnas.studies import JointNASObjective

        c = self.config
        return JointNASObjective(c.space, self.data, c.constraints, train_seed(seed, number), self.train)

    def benchmark(self) -> sq.Benchmark:
        """The problem as a :class:`search_quality.Benchmark` (for its peer samplers; no ``value``)."""
        from optnas.cost import count

        space, n_cls = self.config.space, self.data.num_classes

        def cost(p: Mapping[str, Any]) -> dict[str, float]:
            k = count(space.decode_params(dict(p))[0], n_cls)
            return {"macs": float(k.macs), "params": float(k.params)}

        def no_value(p: Mapping[str, Any]) -> float:
            raise RuntimeError("digits-train trains every trial: there is no table value")

        return sq.Benchmark(
            name=NAME,
            title="digits, real training",
            description="",
            direction="maximize",
            search_space=space.distributions(),
            cost=cost,
            constraints=tuple(self.config.constraints),
            value=no_value,
            infeasible_value=0.0,
            value_label="validation accuracy",
        )


def make_sampler(ctx: Context, name: str, seed: int, trials: int) -> optuna.samplers.BaseSampler:
    """JointNAS with its defaults planned for ``trials`` in batches of 8; the peers as in ``search_quality``."""
    if name == "jointnas":
        from optnas.samplers import JointNASSampler

        if trials % BATCH or trials < 2 * BATCH:
            raise ValueError(f"JointNAS needs a multiple of {BATCH} trials, at least {2 * BATCH}; not {trials}")
        c = ctx.config
        sampler = JointNASSampler(
            space=c.space,
            num_classes=ctx.data.num_classes,
            constraints=c.constraints,
            seed=seed,
            batch_size=BATCH,
            n_batches=trials // BATCH - 1,
            **ctx.jointnas_options(),
        )
        if sampler.n_planned != trials:
            raise RuntimeError(f"JointNAS plans {sampler.n_planned} trials, not {trials}")
        return sampler
    return sq.make_sampler(name, seed, ctx.benchmark(), trials)


def _jointnas_batches(sampler: Any, study: optuna.Study) -> dict[int, int | None]:
    """Trial number -> JointNAS batch of its plan position (``None``: not a planned trial)."""
    from optnas._keys import JOINTNAS_POSITION

    out: dict[int, int | None] = {}
    for t in study.get_trials(deepcopy=False):
        pos = t.system_attrs.get(JOINTNAS_POSITION)
        out[t.number] = None if pos is None else int(sampler.locate(int(pos))[0])
    return out


def one_run(ctx: Context, sampler_name: str, seed: int, mode: str, trials: int = TRIALS) -> dict[str, Any]:
    """One study of ``trials`` real trainings; every trial's value, cost and timings, and the best-so-far curve."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    sampler = make_sampler(ctx, sampler_name, seed, trials)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    space = ctx.config.space
    step = 1 if mode == "sequential" else BATCH
    started = time.perf_counter()
    sampler_s = train_s = 0.0
    records: list[dict[str, Any]] = []
    while len(records) < trials:
        m = min(step, trials - len(records))
        batch: list[optuna.Trial] = []
        for _ in range(m):  # every trial of the batch is asked and suggested before any is trained and told
            t0 = time.perf_counter()
            tr = study.ask()
            space.suggest(tr)  # the objective's own suggest calls then return these values
            sampler_s += time.perf_counter() - t0
            batch.append(tr)
        for tr in batch:
            t1 = time.perf_counter()
            value = float(ctx.objective(seed, tr.number)(tr))
            t2 = time.perf_counter()
            ok = math.isfinite(value)
            if ok:
                study.tell(tr, value)
            else:
                study.tell(tr, state=optuna.trial.TrialState.FAIL)
            sampler_s += time.perf_counter() - t2
            train_s += t2 - t1
            ua = tr.user_attrs
            records.append(
                {
                    "number": tr.number,
                    "value": value if ok else None,
                    "feasible": bool(ua.get("feasible")),
                    "trained": bool(ua.get("trained")),
                    "macs": ua.get("macs"),
                    "params_count": ua.get("params"),
                    "epochs_trained": ua.get("epochs_trained"),
                    "epoch_budget": ua.get("epoch_budget"),
                    "full_epochs": ctx.epochs if ctx.epochs is not None else (ua.get("recipe") or {}).get("epochs"),
                    "train_s": round(t2 - t1, 3),
                    "train_seed": train_seed(seed, tr.number),
                    "jointnas_batch": None,
                    "arch": ua.get("arch"),
                    "params": dict(tr.params),
                }
            )
    if sampler_name == "jointnas":
        where = _jointnas_batches(sampler, study)
        for r in records:
            r["jointnas_batch"] = where.get(r["number"])
    curve: list[float | None] = []
    best: float | None = None
    for r in records:
        v = r["value"]
        if r["feasible"] and v is not None and (best is None or v > best):
            best = v
        curve.append(best)
    n_trained = sum(r["trained"] for r in records)
    return {
        "benchmark": NAME,
        "sampler": sampler_name,
        "seed": seed,
        "budget": trials,
        "mode": mode,
        "curve": curve,
        "n_feasible": int(sum(r["feasible"] for r in records)),
        "n_trained": int(n_trained),
        "sampler_s_per_trial": sampler_s / trials,
        "train_s_per_trial": train_s / trials,
        "train_s_per_trained": train_s / max(1, n_trained),
        "wall_s": time.perf_counter() - started,
        "trials": records,
    }


# --- summary ----------------------------------------------------------------------------------------
def checkpoints(trials: int) -> list[int]:
    """Where the best value is reported: every batch of 8 (8/16/24/32), and the last trial."""
    return sorted({*range(BATCH, trials + 1, BATCH), trials})


def batch0_vs_rest(run: Mapping[str, Any]) -> dict[str, Any]:
    """Best of trials 1-8 (JointNAS: its space-filling batch 0) against the best of the rest."""
    recs = run["trials"]

    def best(rs: Sequence[Mapping[str, Any]]) -> float:
        vals = [r["value"] for r in rs if r["feasible"] and r["value"] is not None]
        return max(vals) if vals else 0.0

    if run["sampler"] == "jointnas" and all(r.get("jointnas_batch") is not None for r in recs):
        first = [r for r in recs if r["jointnas_batch"] == 0]
        rest = [r for r in recs if r["jointnas_batch"] >= 1]
    else:
        first, rest = recs[:BATCH], recs[BATCH:]
    b0, b1 = best(first), best(rest)
    full = [r for r in rest if r.get("full_epochs") is not None and r["epochs_trained"] == r["full_epochs"]]
    return {
        "seed": run["seed"],
        "batch0_best": b0,
        "later_best": b1,
        "beats": b1 > b0,
        "ties": b1 == b0,
        # the later trials trained for the recipe's whole epochs (JointNAS: not on an early-stopping budget)
        "later_full_epochs_best": best(full) if full else None,
        "later_n_full_epochs": len(full),
    }


def summarize(runs: Sequence[Mapping[str, Any]], trials: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cps = checkpoints(trials)
    for mode in MODES:
        mruns = [r for r in runs if r["mode"] == mode]
        if not mruns:
            continue
        samplers = [s for s in SAMPLERS if any(r["sampler"] == s for r in mruns)]
        table: dict[str, dict[str, Any]] = {}
        by_seed: dict[tuple[str, int], dict[int, float]] = {}
        for s in samplers:
            rs = sorted((r for r in mruns if r["sampler"] == s), key=lambda r: r["seed"])
            table[s] = {}
            for b in cps:
                vals = {r["seed"]: sq.at(r["curve"], b, 0.0) for r in rs}
                table[s][str(b)] = {**sq._quartiles(list(vals.values())), "seeds": sorted(vals)}
                by_seed[(s, b)] = vals
        tests: dict[str, dict[str, Any]] = {}
        if "jointnas" in samplers:
            for peer in samplers:
                if peer == "jointnas":
                    continue
                tests[peer] = {}
                for b in cps:
                    j, p = by_seed[("jointnas", b)], by_seed[(peer, b)]
                    seeds = sorted(set(j) & set(p))
                    if seeds:
                        tests[peer][str(b)] = sq.wilcoxon([j[x] for x in seeds], [p[x] for x in seeds], 1.0)
        target: dict[str, Any] = {}
        for s in samplers:
            per = [batch0_vs_rest(r) for r in sorted(mruns, key=lambda r: r["seed"]) if r["sampler"] == s]
            target[s] = {"n_seeds": len(per), "beats": sum(x["beats"] for x in per), "per_seed": per}

        def med(key: str, s: str, mruns: Sequence[Mapping[str, Any]] = mruns) -> float:
            return float(np.median([r[key] for r in mruns if r["sampler"] == s]))

        jt = [t for r in mruns if r["sampler"] == "jointnas" for t in r["trials"] if t["trained"]]
        out[mode] = {
            "table": table,
            "tests": tests,
            "main_job_target": target,
            "feasible_fraction": {
                s: float(np.median([r["n_feasible"] / r["budget"] for r in mruns if r["sampler"] == s]))
                for s in samplers
            },
            "sampler_s_per_trial": {s: med("sampler_s_per_trial", s) for s in samplers},
            "train_s_per_trained": {s: med("train_s_per_trained", s) for s in samplers},
            "wall_s_per_run": {s: med("wall_s", s) for s in samplers},
            "jointnas_early_stopped": (
                {
                    "trained": len(jt),
                    "short": sum(1 for t in jt if (t["epochs_trained"] or 0) < (t["full_epochs"] or 0)),
                }
                if jt
                else None
            ),
        }
    return out


# --- report -----------------------------------------------------------------------------------------
def _cell(c: Mapping[str, Any] | None) -> str:
    return f"{c['median']:.4f} [{c['q1']:.4f}, {c['q3']:.4f}]" if c else "-"


def _later_full(per: Sequence[Mapping[str, Any]]) -> str:
    vals = [p["later_full_epochs_best"] for p in per if p.get("later_full_epochs_best") is not None]
    n = sum(p.get("later_n_full_epochs", 0) for p in per)
    return f"{np.median(vals):.4f} ({n} trials)" if vals else "-"


def headline(summary: Mapping[str, Any], planned_seeds: int) -> str:
    bits = []
    for mode in MODES:
        s = summary.get(mode)
        if not s:
            continue
        t = s["table"]
        last = max(int(k) for v in t.values() for k in v)
        meds = ", ".join(f"{sq.NAMES[x]} {t[x][str(last)]['median']:.4f}" for x in t)
        n = min(c["n_seeds"] for v in t.values() for c in v.values())
        bit = f"{mode}, {n} of {planned_seeds} seeds: median best validation accuracy at {last} trials {meds}"
        j = s["main_job_target"].get("jointnas")
        if j:
            bit += f"; JointNAS's predictor-chosen batches beat batch 0 in {j['beats']} of {j['n_seeds']} seeds"
        bits.append(bit)
    return "; ".join(bits) if bits else "no run finished yet"


def describe(ctx: Context) -> str:
    from optnas.cost import count_columns

    space = ctx.config.space
    pool = count_columns(space, space.sample(16384, 0), ctx.data.num_classes)
    limit = ctx.config.constraints[0].limit
    frac = float(np.mean(pool.macs <= limit))
    d = ctx.data
    return (
        f"Real training on scikit-learn's digits ({d.train_x.shape[0]} training / {d.val_x.shape[0]} validation "
        f"images, the main job's split) over the `digits` joint space ({len(space.names)} dimensions); "
        f"value = validation accuracy of the trained network (the main job's objective, "
        f"`studies/jointnas_digits.toml`); constraint MACs <= {limit:,.0f} (the study file's; feasible for "
        f"{frac:.1%} of a 16,384-point QMC pool), an infeasible candidate is not trained and scores 0. "
        + (
            f"Epochs: {ctx.epochs} (a reduced test run)."
            if ctx.epochs is not None
            else "Epochs: the recipe's (6), or JointNAS's early-stopping budget."
        )
        + " Torch uses 1 thread."
    )


def body(summary: Mapping[str, Any], meta: Mapping[str, Any]) -> list[str]:
    trials = meta["trials"]
    cps = checkpoints(trials)
    lines = [
        meta["description"],
        "",
        f"Planned: {meta['seeds']} seeds x {trials} trials per sampler and mode ({', '.join(meta['modes'])}); "
        f"finished runs: {meta['finished_runs']} of {meta['planned_runs']}"
        + (" (the rest can be resumed with the same command)." if meta["finished_runs"] < meta["planned_runs"] else ".")
        + " Trial n of run s is trained with seed `SeedSequence([s, n])`, for every sampler. JointNAS's columns "
        f"before {trials} trials are prefixes of its {trials}-trial plan (space-filling batch 0, predictor batches "
        f"1-{trials // BATCH - 2}, stage-2 batch {trials // BATCH - 1})."
        + "".join(
            f" {sq.NAMES[name]}'s sequential seed 0 equals its batch run, so its other sequential rows are copies"
            f" of their batch runs ({n} copies)."
            for name, n in (meta.get("sequential_copied") or {}).items()
            if n
        ),
        "",
    ]
    if meta.get("code_versions"):
        lines += [
            "Code measured (commit of each saved run; uncommitted optnas files listed): "
            + "; ".join(
                f"{c['git_commit'][:10] if c['git_commit'] else '?'}"
                + (f" + uncommitted {', '.join(c['git_dirty'])}" if c["git_dirty"] else "")
                + f" ({c['runs']} runs)"
                for c in meta["code_versions"]
            )
            + ".",
            "",
        ]
    for mode in MODES:
        s = summary.get(mode)
        if not s:
            continue
        t = s["table"]
        lines += [f"## {mode.capitalize()} mode", "", "Best feasible validation accuracy, median [IQR] over seeds:", ""]
        rows = [[sq.NAMES[x], str(t[x][str(cps[0])]["n_seeds"]), *[_cell(t[x].get(str(b))) for b in cps]] for x in t]
        lines += _harness.md_table(["sampler", "seeds", *[f"{b} trials" for b in cps]], rows)
        if s["tests"]:
            lines += [
                "",
                "JointNAS against each peer, paired by seed (Wilcoxon signed-rank, two-sided): median difference "
                "(> 0: JointNAS better), wins/ties/losses, p:",
                "",
            ]
            rows = []
            for peer, cells in s["tests"].items():
                row = [sq.NAMES[peer]]
                for b in cps:
                    c = cells.get(str(b))
                    row.append(
                        f"{c['median_diff']:+.4f}, {c['wins']}/{c['ties']}/{c['losses']}, p={c['p']:.3g}" if c else "-"
                    )
                rows.append(row)
            lines += _harness.md_table(["peer", *[f"{b} trials" for b in cps]], rows)
        tg = s["main_job_target"]
        lines += [
            "",
            "Main-job target (issue 13): the best of the predictor-chosen trials (JointNAS batches >= 1) beats the "
            "best of the space-filling batch 0 in at least 8 of 10 seeds. Peers: best of trials 9-32 against "
            "the best of trials 1-8 (0.75 expected by chance for exchangeable trials):",
            "",
        ]
        rows = []
        for x, v in tg.items():
            per = v["per_seed"]
            rows.append(
                [
                    sq.NAMES[x],
                    f"{v['beats']} of {v['n_seeds']}",
                    f"{np.median([p['batch0_best'] for p in per]):.4f}" if per else "-",
                    f"{np.median([p['later_best'] for p in per]):.4f}" if per else "-",
                    _later_full(per),
                    f"{s['feasible_fraction'][x]:.2f}",
                    f"{s['train_s_per_trained'][x]:.1f}",
                    f"{s['sampler_s_per_trial'][x] * 1e3:.0f}",
                    f"{s['wall_s_per_run'][x] / 60:.1f}",
                ]
            )
        lines += _harness.md_table(
            [
                "sampler",
                "later beats first 8",
                "best of first 8 (median)",
                "best of the rest (median)",
                "of them full-epoch trials (median)",
                "feasible fraction",
                "s / training",
                "sampler ms / trial",
                "min / run",
            ],
            rows,
        )
        es = s.get("jointnas_early_stopped")
        if es:
            lines += [
                "",
                f"JointNAS trained {es['trained']} candidates, {es['short']} of them on an early-stopping budget "
                "shorter than the recipe's epochs: their accuracy, lower-fidelity, counts as found, so the 'best "
                "of the rest' column compares batch 0's full-epoch accuracies with them; the next column keeps only "
                "the later trials trained for the whole recipe (JointNAS: its stage-2 batch).",
            ]
        lines += [""]
    lines += [
        "Times: wall time on the shared 2-core machine under `nice -n 10`, one torch thread, next to other "
        "jobs; 's / training' is per trained (feasible) candidate, 'sampler ms / trial' is `ask` + `suggest` + "
        "`tell`. Per-run records (every trial's parameters, value, MACs, epochs and training seed) are in "
        f"`benchmarks/results/{RUNS_DIR}/`.",
    ]
    return lines


#: Samplers whose proposals are the same in both modes: JointNAS plans each batch of 8 once the previous batch
#: is told, in either mode; RandomSampler ignores the history. Training seeds are per (seed, trial).
SAME_IN_BOTH_MODES = ("jointnas", "random")


def copy_sequential(runs: list[dict[str, Any]], sampler: str) -> int | None:
    """Add ``sampler``'s sequential rows as copies of its batch runs, if seed 0's two runs were equal.

    Equal means the same parameters and values trial by trial. Returns the number of copies (``None``: seed 0
    was not run in both modes, or its runs differ and nothing was copied).
    """
    own = {(r["seed"], r["mode"]): r for r in runs if r["sampler"] == sampler and not r.get("copy")}
    a, b = own.get((0, "batch")), own.get((0, "sequential"))
    if a is None or b is None:
        return None

    def trace(r: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return [(t.get("params"), t.get("value")) for t in r.get("trials", [])] or [tuple(r["curve"])]

    if trace(a) != trace(b):
        print(f"{sampler}: sequential and batch runs differ: run every seed in both modes", flush=True)
        return None
    n = 0
    for (seed, mode), r in list(own.items()):
        if mode == "batch" and (seed, "sequential") not in own:
            runs.append({**r, "mode": "sequential", "copy": "of the batch run (seed 0's were equal)"})
            n += 1
    return n


# --- runs on disk -----------------------------------------------------------------------------------
def run_path(runs_dir: Path, sampler: str, seed: int, mode: str) -> Path:
    return runs_dir / f"{mode}-{sampler}-seed{seed}.json"


def load_runs(runs_dir: Path, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The saved runs made with ``settings`` (others are ignored, not deleted)."""
    out = []
    want = _harness._jsonable(dict(settings))
    for p in sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []:
        data = json.loads(p.read_text())
        if data.get("settings") == want:
            out.append(data["run"])
            out[-1]["code"] = data.get("code")
    return out


def save_run(runs_dir: Path, run: Mapping[str, Any], settings: Mapping[str, Any], code: Mapping[str, Any]) -> Path:
    runs_dir.mkdir(parents=True, exist_ok=True)
    p = run_path(runs_dir, run["sampler"], run["seed"], run["mode"])
    tmp = p.with_suffix(".json.tmp")
    data = {"schema": _harness.SCHEMA_VERSION, "settings": settings, "code": code, "run": run}
    tmp.write_text(json.dumps(_harness._jsonable(data), indent=1) + "\n")
    tmp.replace(p)
    return p


def _code_versions(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in runs:
        c = r.get("code") or {}
        key = (c.get("git_commit"), tuple(c.get("git_dirty") or ()), c.get("git_dirty_sha256"))
        e = seen.setdefault(key, {"git_commit": key[0], "git_dirty": list(key[1]), "runs": 0})
        e["runs"] += 1
    return list(seen.values())


def report(
    ctx: Context, meta: dict[str, Any], runs: list[dict[str, Any]], results: Path, *, status: str
) -> tuple[Path, Path]:
    summary = summarize(runs, meta["trials"])
    own = [r for r in runs if not r.get("copy")]
    meta = {**meta, "finished_runs": len(own), "code_versions": _code_versions(own)}
    slim = [{k: v for k, v in r.items() if k != "trials"} for r in runs]  # full records: the per-run files
    return _harness.write_report(
        NAME,
        meta=meta,
        result={"summary": summary, "runs": slim},
        body=body(summary, meta),
        title="Search quality: digits, real training (no surrogate)",
        headline=headline(summary, meta["seeds"]),
        status=status,
        results_dir=results,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=TRIALS)
    ap.add_argument("--samplers", default=",".join(SAMPLERS))
    ap.add_argument("--modes", default="batch")
    ap.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (tests; not comparable)")
    ap.add_argument(
        "--jointnas-acquisition",
        default=None,
        help="JointNAS's acquisition instead of its default (an ablation; use another --out)",
    )
    ap.add_argument(
        "--jointnas-trust-region",
        type=float,
        default=None,
        help="JointNAS's stage-2 trust region instead of its default (an ablation; use another --out)",
    )
    ap.add_argument("--time-limit", type=float, default=None, help="minutes; start no run after it (resumable)")
    ap.add_argument("--report-only", action="store_true", help="rewrite the report from the saved runs")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    args = ap.parse_args(argv)
    samplers = [s for s in args.samplers.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for s in samplers:
        if s not in SAMPLERS:
            ap.error(f"--samplers: unknown sampler {s!r}; expected some of {','.join(SAMPLERS)}")
    for m in modes:
        if m not in MODES:
            ap.error(f"--modes: unknown mode {m!r}; expected some of {','.join(MODES)}")
    if "jointnas" in samplers and (args.trials % BATCH or args.trials < 2 * BATCH):
        ap.error(f"--trials: JointNAS needs a multiple of {BATCH}, at least {2 * BATCH}")
    if args.epochs is not None and args.epochs < 1:
        ap.error("--epochs: must be >= 1")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import torch

    torch.set_num_threads(1)
    # import the code under test now, so the recorded git state is the code this process runs
    import optnas.samplers
    import optnas.studies
    import optnas.train  # noqa: F401

    results = args.out or _harness.RESULTS
    runs_dir = Path(results) / RUNS_DIR
    ctx = Context.load(
        epochs=args.epochs, acquisition=args.jointnas_acquisition, trust_region=args.jointnas_trust_region
    )
    settings = ctx.settings(args.trials)
    raw = list(sys.argv[1:] if argv is None else argv)
    # the command that makes the runs (a --report-only rewrite reproduces nothing by itself)
    base = _harness.metadata(_harness.command_line(MODULE, [a for a in raw if a != "--report-only"]))
    code = {k: base.get(k) for k in ("git_commit", "git_dirty", "git_dirty_sha256")}
    meta = {
        **base,
        "benchmark": "digits-train",
        "seeds": args.seeds,
        "trials": args.trials,
        "samplers": samplers,
        "modes": modes,
        "settings": settings,
        "description": describe(ctx),
    }
    # Samplers whose proposals do not depend on when trials are told run seed 0 in both modes; the other
    # seeds' sequential rows are copies of their batch runs if seed 0's were equal (see `copy_sequential`)
    copied = [s for s in samplers if s in SAME_IN_BOTH_MODES] if {"batch", "sequential"} <= set(modes) else []
    jobs = [
        (s, seed, m)
        for seed in range(args.seeds)
        for m in modes
        for s in samplers
        if not (s in copied and m == "sequential" and seed > 0)
    ]
    meta["planned_runs"] = len(jobs)
    runs = [r for r in load_runs(runs_dir, settings) if (r["sampler"], r["seed"], r["mode"]) in set(jobs)]
    done = {(r["sampler"], r["seed"], r["mode"]) for r in runs}
    todo = [j for j in jobs if j not in done]

    def report_all(status: str) -> None:
        view = [dict(r) for r in runs]
        n = {s: copy_sequential(view, s) for s in copied}
        report(ctx, {**meta, "sequential_copied": n}, view, Path(results), status=status)

    if args.report_only or not todo:
        report_all("complete" if not todo else "partial")
        print(f"{len(runs)} runs saved, {len(todo)} to do")
        return 0
    print(f"{len(runs)} runs saved, {len(todo)} to do", flush=True)
    started = time.perf_counter()
    for i, (s, seed, mode) in enumerate(todo):
        if args.time_limit is not None and time.perf_counter() - started > args.time_limit * 60:
            print(f"time limit: {len(todo) - i} runs left; rerun the same command to resume", flush=True)
            break
        r = one_run(ctx, s, seed, mode, args.trials)
        save_run(runs_dir, r, settings, code)
        runs.append({**r, "code": code})
        left = len(todo) - i - 1
        report_all("complete" if not left else "partial")
        print(
            f"[{i + 1}/{len(todo)}] {mode} {s} seed {seed}: best {sq.at(r['curve'], args.trials, 0.0):.4f} "
            f"(after 8: {sq.at(r['curve'], BATCH, 0.0):.4f}), trained {r['n_trained']}/{args.trials}, "
            f"{r['train_s_per_trained']:.1f} s/training, sampler {r['sampler_s_per_trial'] * 1e3:.0f} ms/trial, "
            f"run {r['wall_s'] / 60:.1f} min (total {(time.perf_counter() - started) / 60:.1f} min)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
