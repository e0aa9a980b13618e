"""AutoTrain (FBNetV3 Sec. 5.2): the architecture is fixed, JointNASSampler searches the recipe only."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import optuna
import pytest

from optnas import ConfigError
from optnas.space import RecipeSpec
from optnas.studies import load_study_file, parse_study, run_study

REPO = Path(__file__).resolve().parents[2]


def test_autotrain_study_searches_the_recipe_of_a_fixed_arch(tmp_path: Path) -> None:
    config = load_study_file(REPO / "studies" / "autotrain_digits.toml")
    arch = config.space.fixed_arch
    assert arch is not None
    assert {d.part for d in config.space.dims} == {"recipe"}
    config = dataclasses.replace(
        config,
        dataset={"name": "digits", "subset": 300},
        sampler={"batch_size": 2, "n_batches": 2, "final_batch_size": 1, "pool_size": 64},
        train={"epochs": 1, "num_threads": 1},
    )
    study = run_study(config, storage_url=f"sqlite:///{tmp_path}/at.db", stream=io.StringIO())
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 5
    recipe_names = {f.name for f in dataclasses.fields(RecipeSpec)}
    for t in trials:
        assert t.user_attrs["arch"] == str(arch)  # never changes
        assert set(t.params) <= recipe_names  # only recipe parameters are searched
        assert t.user_attrs["feasible"] is True
    assert [t.user_attrs["stage"] for t in sorted(trials, key=lambda t: t.number)] == ["stage1"] * 4 + ["stage2"]
    # Distinct recipes were proposed.
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 5


def test_autotrain_needs_an_arch_and_jointnas_refuses_one() -> None:
    with pytest.raises(ConfigError) as err:
        parse_study({"study": {"kind": "autotrain"}})
    assert err.value.field == "space.arch"
    with pytest.raises(ConfigError) as err:
        parse_study({"study": {"kind": "jointnas"}, "space": {"arch": "mobilenet_v2"}})
    assert err.value.field == "space.arch"
    config = parse_study({"study": {"kind": "autotrain"}, "space": {"preset": "cifar", "arch": "mobilenet_v2"}})
    assert config.space.fixed_arch is not None and config.space.fixed_arch.resolution == 224
