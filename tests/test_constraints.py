"""Resource constraints: validation, pool filtering, the smallest achievable cost, trial records."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest

from optnas import ConfigError
from optnas.constraints import (
    Constraint,
    check_satisfiable,
    feasible_mask,
    from_dict,
    max_macs,
    max_params,
    minimum_cost,
    record,
)
from optnas.cost import count, count_columns
from optnas.space import PRESETS, preset

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_constructors_and_relative_value() -> None:
    c = max_macs(300e6)
    assert c == Constraint("macs", 300e6)
    assert (c.name, str(c)) == ("max_macs", "macs <= 3e+08")
    assert max_params(5e6).name == "max_params"
    arch, _ = preset("digits").decode_params(preset("digits").to_params(preset("digits").sample(1, 0)[0]))
    cost = count(arch, 10)
    assert max_macs(cost.macs).value(cost) == 0.0  # the limit itself is feasible
    assert max_macs(cost.macs / 2).value(cost) == pytest.approx(1.0)
    assert max_params(cost.params * 4).value(cost) == pytest.approx(-0.75)
    assert Constraint.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("mega flops", 1e6), "constraint metric"),
        ((3, 1e6), "constraint metric"),
        (("macs", 0), "max_macs"),
        (("params", -5.0), "max_params"),
        (("macs", float("inf")), "max_macs"),
        (("macs", True), "max_macs"),
        (("macs", "1e6"), "max_macs"),
    ],
)
def test_invalid_constraints(args: tuple[Any, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Constraint(*args)
    assert info.value.field == field


def test_from_dict() -> None:
    assert from_dict({"max_macs": 3e6, "max_params": 1e5}) == [max_macs(3e6), max_params(1e5)]
    with pytest.raises(ConfigError) as info:
        from_dict({"macs": 3e6})
    assert info.value.field == "constraints" and info.value.value == "macs"
    with pytest.raises(ConfigError, match="unknown metric"):
        from_dict({"max_energy_mj": 3.0})


def test_feasible_mask_matches_per_candidate_values() -> None:
    space = preset("digits")
    cols = space.sample(256, 3)
    pool = count_columns(space, cols, 10)
    constraints = [max_macs(5e5), max_params(2.5e4)]
    mask = feasible_mask(constraints, pool)
    expected = [all(c.value(count(arch, 10)) <= 0 for c in constraints) for arch, _ in space.iter_candidates(cols)]
    assert mask.tolist() == expected
    assert 0 < mask.sum() < len(mask)
    assert feasible_mask([], pool).all()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_minimum_cost_is_the_smallest_of_the_space(name: str) -> None:
    space = preset(name)
    classes = 1000 if name == "fbnetv3" else 10
    low = minimum_cost(space, classes)
    pool = count_columns(space, space.sample(2048, 0), classes)
    assert low.macs <= pool.macs.min() and low.params <= pool.params.min()
    check_satisfiable(space, [max_macs(low.macs), max_params(low.params)], classes)
    with pytest.raises(ConfigError) as info:
        check_satisfiable(space, [max_macs(low.macs - 1)], classes)
    assert info.value.field == "max_macs"
    assert f"smallest achievable macs is {low.macs:,}" in str(info.value)


def test_record_sets_constraints_and_mirrors_them() -> None:
    space = preset("digits")
    constraints = [max_macs(2e5), max_params(1e6)]
    study = optuna.create_study(direction="maximize")
    params = space.to_params(space.sample(1, 0)[0])
    arch, _ = space.decode_params(params)
    cost = count(arch, 10)
    trial = study.ask()
    feasible = record(trial, constraints, cost)
    study.tell(trial, 0.5)
    frozen = study.trials[0]
    expected = {c.name: c.value(cost) for c in constraints}
    assert frozen.constraints == expected  # Optuna 5: trial.set_constraint
    ua = frozen.user_attrs
    assert (ua["macs"], ua["params"]) == (cost.macs, cost.params)
    assert {k: ua[f"constraint:{k}"] for k in expected} == expected
    assert (ua["limit:max_macs"], ua["limit:max_params"]) == (2e5, 1e6)
    assert feasible is ua["feasible"] is bool(cost.macs <= 2e5)
    assert np.isclose(ua["constraint:max_macs"], cost.macs / 2e5 - 1)
