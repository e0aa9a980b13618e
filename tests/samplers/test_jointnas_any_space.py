"""JointNASSampler on a user's own Optuna search space (no JointSpace)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from optnas import ConfigError
from optnas.constraints import Constraint
from optnas.predictor import PredictorConfig
from optnas.samplers import JointNASSampler
from optnas.samplers._history import training_data
from optnas.space import ParamSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)

FAST = PredictorConfig(fit_steps=60, ensemble=3, bootstrap=True)


def objective(trial: optuna.Trial) -> float:
    """A smooth landscape over every kind of distribution; the optimum is at x=0.01, n=16, act='relu'."""
    x = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    d = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
    n = trial.suggest_int("units", 1, 256, log=True)
    k = trial.suggest_int("kernel", 3, 7, step=2)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    score = -((math.log10(x) + 2) ** 2) - (math.log2(n) - 4) ** 2 / 4 - d - 0.1 * (k - 5) ** 2
    return score + {"relu": 0.5, "tanh": 0.0, "gelu": 0.2}[act]


def cost(params: dict[str, Any]) -> dict[str, float]:
    return {"params": float(params["units"] * params["kernel"] ** 2), "macs": float(params["units"] * 100)}


def run(sampler: JointNASSampler, n: int, fn: Any = objective) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(fn, n_trials=n)
    return study


def make(**kw: Any) -> JointNASSampler:
    settings: dict[str, Any] = {"batch_size": 4, "n_batches": 3, "final_batch_size": 4, "pool_size": 256, "seed": 0}
    settings.update(kw)
    settings.setdefault("predictor_config", FAST)
    return JointNASSampler(**settings)


def test_every_distribution_kind_is_planned_not_fallen_back() -> None:
    study = run(make(), 16)
    trials = study.trials
    stages = [(t.user_attrs.get("stage"), t.user_attrs.get("batch")) for t in trials]
    # trial 0 comes before any space is known: the independent sampler takes it
    assert stages[0] == (None, None)
    assert stages[1:4] == [("stage1", 0)] * 3
    assert stages[4:12] == [("stage1", 1)] * 4 + [("stage1", 2)] * 4
    assert stages[12:] == [("stage2", 3)] * 4
    for t in trials[4:]:
        assert isinstance(t.user_attrs["predicted_accuracy"], float)
    # every planned trial evaluates exactly the candidate it picked; batch 0 is the stored plan
    attrs = study._storage.get_study_system_attrs(study._study_id)
    for t in trials[1:]:
        assert t.system_attrs["jointnas:pick"]["values"] == t.params
        if t.user_attrs["batch"] == 0:
            assert attrs["jointnas:plan:0"]["candidates"][t.user_attrs["slot"]]["values"] == t.params
    assert not any(k.startswith("jointnas:plan:") and k != "jointnas:plan:0" for k in attrs)


def bowl(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    y = trial.suggest_float("y", -1.0, 1.0)
    return -((x - 0.3) ** 2) - (y + 0.5) ** 2


@pytest.mark.parametrize(("acquisition", "seeds"), [("paper", 3), ("local", 3), ("ensemble", 1)])
def test_predictor_batches_beat_the_space_filling_batch(acquisition: str, seeds: int) -> None:
    """On a smooth bowl the predictor must steer: a sign error or a broken fit fails this."""
    for seed in range(seeds):
        study = run(make(acquisition=acquisition, seed=seed, predictor_config=None), 16, bowl)
        values = [t.value for t in study.trials if t.value is not None]
        assert max(values[4:]) > max(values[:4])


def test_local_is_the_paper_rule_over_a_pool_with_incumbent_mutations() -> None:
    """``acquisition="local"`` = ``"paper"`` + mutations of the best trials in the pool (nothing else)."""
    from optnas.samplers._planner import Planner, PlannerConfig

    space = ParamSpace({"x": FloatDistribution(-1.0, 1.0), "y": FloatDistribution(-1.0, 1.0)})
    rng = np.random.default_rng(0)
    cols = rng.uniform(-1.0, 1.0, size=(12, 2))
    y = -((cols[:, 0] - 0.3) ** 2) - (cols[:, 1] + 0.5) ** 2
    cfg = PredictorConfig(fit_steps=60, pretrain=False)

    def plan(**kw: Any) -> list[tuple[float, ...]]:
        config = PlannerConfig(batch_size=4, n_batches=3, pool_size=128, predictor=cfg, **kw)
        return [c.row for c in Planner(space, None, (), config).plan(1, cols, y, seed=3).candidates]

    paper = plan(acquisition="paper")
    assert plan(acquisition="local", n_incumbents=0) == paper
    local = plan(acquisition="local")
    assert local != paper
    # the mutations are local: some chosen candidate lies next to one of the 4 best trials
    best = cols[np.argsort(-y)[:4]]
    nearest = [float(np.min(np.abs(best - np.asarray(r)).max(axis=1))) for r in local]
    assert min(nearest) < 0.25


def test_seeded_runs_repeat_exactly_and_seeds_differ() -> None:
    a = [t.params for t in run(make(), 10).trials]
    b = [t.params for t in run(make(), 10).trials]
    c = [t.params for t in run(make(seed=1), 10).trials]
    assert a[1:] == b[1:]
    assert a[1:] != c[1:]


def test_conditional_parameters_go_to_the_independent_sampler() -> None:
    def conditional(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        x = trial.suggest_float("x", -1.0, 1.0)
        if kind == "a":
            y = trial.suggest_float("y", 0.0, 1.0)
            return -(x**2) - y
        return -abs(x) - 0.3

    study = run(make(), 14, conditional)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    planned = [t for t in study.trials if t.user_attrs.get("batch", 0) >= 1]
    assert planned, "later batches must be planned by the predictor"
    # the inferred space is the intersection: kind and x, never the conditional y
    assert set(planned[-1].distributions) >= {"kind", "x"}


@pytest.mark.parametrize("cost_filter", ["exact", "predicted"])
def test_constraints_on_a_user_cost_are_never_violated(cost_filter: str) -> None:
    space = {
        "lr": FloatDistribution(1e-4, 1.0, log=True),
        "dropout": FloatDistribution(0.0, 0.5, step=0.1),
        "units": IntDistribution(1, 256, log=True),
        "kernel": IntDistribution(3, 7, step=2),
        "act": CategoricalDistribution(["relu", "tanh", "gelu"]),
    }
    limit = 800.0  # roughly half the space
    sampler = make(
        search_space=space, cost=cost, constraints=[Constraint("params", limit)], cost_filter=cost_filter
    )
    study = run(sampler, 16)
    for t in study.trials:
        assert cost(t.params)["params"] <= limit
        assert t.user_attrs["feasible"] is True
        assert t.user_attrs["constraint:max_params"] == pytest.approx(cost(t.params)["params"] / limit - 1)
        assert t.constraints == {"max_params": pytest.approx(cost(t.params)["params"] / limit - 1)}
    if cost_filter == "predicted":
        assert sampler.last_plan is not None and sampler.last_plan.n_checked >= 4


def test_the_unplanned_first_trial_of_an_inferred_space_records_its_constraints() -> None:
    """Gap, stated: nothing is known of an inferred space before its first trial suggests, so that
    trial cannot be filtered. The sampler says so once and records its constraint values."""
    sampler = make(cost=cost, constraints=[Constraint("params", 800.0)])
    with pytest.warns(UserWarning, match="trial 0 is sampled before any search space is known") as caught:
        study = run(sampler, 6)
    assert sum("before any search space" in str(w.message) for w in caught) == 1
    first = study.trials[0]
    assert "stage" not in first.user_attrs  # sampled before any space was known
    assert first.constraints == {"max_params": pytest.approx(cost(first.params)["params"] / 800.0 - 1)}
    for t in study.trials[1:]:
        assert cost(t.params)["params"] <= 800.0


def test_unsatisfiable_constraint_names_the_smallest_value_seen() -> None:
    sampler = make(
        search_space={"units": IntDistribution(4, 64), "kernel": IntDistribution(3, 7, step=2)},
        cost=cost,
        constraints=[Constraint("params", 10.0)],
    )
    with pytest.raises(ConfigError) as info:
        run(sampler, 1)
    assert info.value.field == "max_params"
    assert "smallest params among" in str(info.value) and "is 36" in str(info.value)


def test_constraints_need_a_cost_function() -> None:
    with pytest.raises(ConfigError) as info:
        JointNASSampler(constraints=[Constraint("params", 1.0)])
    assert info.value.field == "cost"


def test_cost_function_missing_a_metric_is_named() -> None:
    sampler = make(
        search_space={"units": IntDistribution(4, 64), "kernel": IntDistribution(3, 7, step=2)},
        cost=cost,
        constraints=[Constraint("latency_ms", 1)],
    )
    with pytest.raises(ConfigError) as info:
        run(sampler, 1)
    assert info.value.field == "max_latency_ms"


def test_minimized_studies_are_fitted_the_right_way_round() -> None:
    study = optuna.create_study(direction="minimize", sampler=make())
    study.optimize(lambda t: -objective(t), n_trials=8)
    space = ParamSpace(study.trials[-1].distributions)
    _, y, used = training_data(study.trials, space, study.direction)
    assert np.allclose(y, [-t.value for t in used if t.value is not None])
    # the minimized run proposes exactly what the maximized run proposes
    maxi = [t.params for t in run(make(), 8).trials]
    assert [t.params for t in study.trials][1:] == maxi[1:]


def test_arch_params_split_the_encoding() -> None:
    space = ParamSpace(
        {
            "units": IntDistribution(1, 8),
            "act": CategoricalDistribution(["a", "b", "c"]),
            "lr": FloatDistribution(0, 1),
        },
        arch=["units", "act"],
    )
    assert [d.name for d in space.dims] == ["act", "units", "lr"]
    assert space.arch_width == 4 and space.encoding_width == 5
    flat = ParamSpace(space.distributions())
    assert flat.arch_width == flat.encoding_width == 5


def test_nan_objective_warns_and_plans_no_predictor_batch_from_nothing() -> None:
    sampler = make(batch_size=2, n_batches=3, final_batch_size=2)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with pytest.warns(UserWarning, match="only 0 completed trial") as caught:
        study.optimize(lambda t: float("nan") if t.suggest_float("x", 0, 1) >= 0 else 0.0, n_trials=8)
    assert sum("completed trial" in str(w.message) for w in caught) == 1  # once, not once a batch
    assert all(t.user_attrs.get("predicted_accuracy") is None for t in study.trials)


def test_a_nearly_exhausted_feasible_space_never_falls_back_to_an_infeasible_slot() -> None:
    """Regression: a stage-2 plan shorter than its batch left the last slots to the independent
    (unconstrained) sampler, which proposed infeasible candidates (NAS-Bench-201, seed 12)."""
    space = {"a": CategoricalDistribution([0, 1, 2]), "b": CategoricalDistribution([0, 1, 2])}

    def small_cost(p: dict[str, Any]) -> dict[str, float]:
        return {"params": float(p["a"] + p["b"])}

    sampler = JointNASSampler(
        search_space=space,
        cost=small_cost,
        constraints=[Constraint("params", 2.0)],  # 6 of the 9 points
        batch_size=2,
        n_batches=2,
        final_batch_size=4,
        pool_size=16,
        seed=0,
        predictor_config=FAST,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(t.suggest_categorical("a", [0, 1, 2]) - t.suggest_categorical("b", [0, 1, 2])), 8)
    assert [t.user_attrs["stage"] for t in study.trials] == ["stage1"] * 4 + ["stage2"] * 4
    for t in study.trials:
        assert small_cost(t.params)["params"] <= 2.0


def test_stage2_trust_region_keeps_the_ga_near_the_best_trials() -> None:
    """The GA extrapolates a linear trend to the box's corner; a trust region holds it near the data."""
    from optnas.samplers._planner import Planner, PlannerConfig

    names = ("a", "b", "c", "d")
    space = ParamSpace({n: FloatDistribution(0.0, 1.0) for n in names})
    rng = np.random.default_rng(0)
    cols = rng.uniform(0.4, 0.6, size=(16, 4))  # the evaluated trials sit in the middle of the box
    y = cols.sum(axis=1)  # ... and the score rises towards the (1, 1, 1, 1) corner
    cfg = PredictorConfig(fit_steps=200, pretrain=False)

    def stage2(trust_region: float | None) -> tuple[np.ndarray, Planner]:
        config = PlannerConfig(
            batch_size=4, n_batches=3, final_batch_size=4, pool_size=128, predictor=cfg, trust_region=trust_region
        )
        planner = Planner(space, None, (), config)
        plan = planner.plan(3, cols, y, seed=0)
        assert plan.stage == "stage2" and len(plan.candidates) == 4
        return np.array([c.row for c in plan.candidates]), planner

    def nearest_best(rows: np.ndarray) -> np.ndarray:
        best = space.encode(cols[np.argsort(-y, kind="stable")[:4]])
        x = space.encode(rows)
        return np.asarray(np.sqrt(((x[:, None, :] - best[None, :, :]) ** 2).sum(axis=2)).min(axis=1))

    free, planner = stage2(None)
    spacing = planner._typical_spacing(0)
    assert nearest_best(free).min() > 1.0 * spacing  # unconstrained: far out, towards the corner
    for r in (0.5, 1.0):
        held, _ = stage2(r)
        d = nearest_best(held)
        assert d.max() <= r * spacing + 1e-9
        assert d.min() > 0  # new candidates, not the incumbents again
        assert held.sum(axis=1).mean() > np.sort(y)[-4:].mean() - 1e-9  # still climbing the trend


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), True, "1"])
def test_trust_region_must_be_a_positive_number(bad: Any) -> None:
    from optnas.samplers._planner import PlannerConfig

    with pytest.raises(ConfigError, match="trust_region") as info:
        PlannerConfig(trust_region=bad)
    assert info.value.field == "trust_region"


def test_drop_seen_keeps_the_first_of_each_unseen_row_in_pool_order() -> None:
    from optnas.samplers._planner import _drop_seen

    pool = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -0.0], [2.0, 2.0], [0.0, 1.0 + 1e-12], [3.0, 0.0]])
    seen = np.array([[2.0, 2.0]])
    assert _drop_seen(pool, seen).tolist() == [[1.0, 0.0], [0.0, 1.0], [3.0, 0.0]]
    assert _drop_seen(pool, np.zeros((0, 2))).tolist() == [[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [3.0, 0.0]]
    assert _drop_seen(pool[:0], seen).shape == (0, 2)


def test_function_cost_calls_the_cost_function_once_per_candidate() -> None:
    from optnas.samplers._costs import FunctionCost

    calls: list[dict[str, Any]] = []

    def counted(params: dict[str, Any]) -> dict[str, float]:
        calls.append(dict(params))
        return cost(params)

    space = ParamSpace({"units": IntDistribution(1, 256, log=True), "kernel": IntDistribution(3, 7, step=2)})
    fc = FunctionCost(counted, [Constraint("params", 1000.0)])
    cols = space.sample(64, np.random.default_rng(0))
    first = fc.exact(space, cols)
    again = fc.exact(space, np.concatenate([cols[::-1], cols]))
    assert len(calls) == len({tuple(r) for r in cols.tolist()})
    assert np.array_equal(again["params"], np.concatenate([first["params"][::-1], first["params"]]))
    assert first["params"].tolist() == [cost(space.to_params(r))["params"] for r in cols]
