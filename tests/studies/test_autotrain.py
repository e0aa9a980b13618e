"""AutoTrain (FBNetV3 Sec. 5.2): the architecture is fixed, JointNASSampler searches the recipe only."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
from pathlib import Path

import optuna
import pytest

import optnas
from optnas import ConfigError
from optnas.cost import count
from optnas.space import RecipeSpec, TorchvisionArch
from optnas.studies import load_study_file, parse_study, run_study
from optnas.studies._export import export_study

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


def test_autotrain_of_a_torchvision_classifier_runs_exports_and_evolves(tmp_path: Path) -> None:
    """AutoTrain with torchvision's MobileNetV3-Small (small-input stem) as the fixed network."""
    config = parse_study(
        {
            "study": {"kind": "autotrain", "name": "tv"},
            "dataset": {"name": "digits", "subset": 300},
            "space": {"preset": "digits", "arch": "torchvision:mobilenet_v3_small res16 small"},
            "sampler": {"batch_size": 2, "n_batches": 2, "final_batch_size": 1, "pool_size": 64},
            "train": {"epochs": 1, "num_threads": 1},
        }
    )
    arch = TorchvisionArch("mobilenet_v3_small", 16, True)
    assert config.space.fixed_arch == arch
    assert "stochastic_depth" not in config.space.names  # MobileNetV3 has none: fixed to 0
    url = f"sqlite:///{tmp_path}/tv.db"
    study = run_study(config, storage_url=url, stream=io.StringIO())
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 5
    cost = count(arch, 10)
    for t in trials:
        assert t.user_attrs["arch"] == "torchvision:mobilenet_v3_small res16 small"
        assert (t.user_attrs["macs"], t.user_attrs["params"]) == (cost.macs, cost.params)
        assert t.user_attrs["recipe"]["stochastic_depth"] == 0.0
    # The exported model.py rebuilds the same network.
    export_study(study, tmp_path / "out")
    assert (tmp_path / "out" / "arch.txt").read_text().strip() == str(arch)
    spec = importlib.util.spec_from_file_location("tv_model", tmp_path / "out" / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.make_model()
    assert sum(p.numel() for p in model.parameters()) == cost.params
    # The stored predictor serves recipe proposals for this network without training.
    found = optnas.evolve(study, top_k=2)
    assert [c.arch for c in found] == [arch, arch]
    assert len(study.get_trials()) == 5


def test_torchvision_arch_errors_name_the_study_field() -> None:
    tv = "torchvision:resnet18 res32 small"
    with pytest.raises(ConfigError) as err:
        parse_study(
            {"study": {"kind": "autotrain"}, "space": {"arch": tv, "overrides": {"stochastic_depth": [0.0, 0.2]}}}
        )
    assert (err.value.field, err.value.value) == ("space.overrides.stochastic_depth", [0.0, 0.2])
    with pytest.raises(ConfigError) as err:
        parse_study({"study": {"kind": "autotrain"}, "space": {"arch": tv, "fixed": {"stochastic_depth": 0.1}}})
    assert (err.value.field, err.value.value) == ("space.fixed.stochastic_depth", 0.1)
    with pytest.raises(ConfigError) as err:
        parse_study({"study": {"kind": "autotrain"}, "space": {"arch": "torchvision:alexnet"}})
    assert (err.value.field, err.value.value) == ("space.arch", "torchvision:alexnet")
    assert "alexnet" in str(err.value)
    # EfficientNet has stochastic depth: its range may be searched.
    config = parse_study(
        {
            "study": {"kind": "autotrain"},
            "space": {"arch": "torchvision:efficientnet_b0 res32 small", "overrides": {"stochastic_depth": [0.0, 0.3]}},
        }
    )
    assert "stochastic_depth" in config.space.names


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_study_file_validates(path: Path) -> None:
    text = path.read_text()
    if "shared/data/cifar10" in text and not (REPO.parent / "shared" / "data" / "cifar10").is_dir():
        pytest.skip("../shared/data/cifar10 is not present on this machine")
    config = load_study_file(path)
    assert config.kind in path.name
    if config.kind == "autotrain":
        assert config.space.fixed_arch is not None
        assert {d.part for d in config.space.dims} == {"recipe"}
