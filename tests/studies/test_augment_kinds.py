"""Augmentation study kinds: settings validation, samplers, child model, objective, baselines."""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import torch
from PIL import Image

from optnas import ConfigError
from optnas.augment import Policy, PolicyOp, SubPolicy, policy_from_params
from optnas.samplers import PPOSampler
from optnas.space import Arch, Recipe
from optnas.studies import load_study_file, parse_study, run_study
from optnas.studies._augment_kinds import (
    CHILD_RECIPE,
    M_PARAM,
    N_PARAM,
    POLICY_ATTR,
    RandAugmentGridSampler,
    attach_pairing_pool,
    augment_settings,
    child_arch,
    child_recipe,
    evaluate_baselines,
    make_augment_objective,
    make_augment_sampler,
)
from optnas.studies._runner import load_data

optuna.logging.set_verbosity(optuna.logging.WARNING)

DIGITS_CHILD = "res8 stem_k3_s1_c8_hs ir_k3_e1_c8_hs ir_k3_e2_c16_s2_se_hs ir_k3_e2_c24_s2_hs head_c64_hs"
CIFAR_CHILD = (
    "res32 stem_k3_s1_c8_hs ir_k3_e1_c8_hs ir_k3_e2_c16_s2_hs ir_k3_e2_c24_s2_se_hs "
    "ir_k3_e2_c40_s2_hs ir_k3_e2_c64_se_hs head_c256_hs"
)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(kind: str, **sections: Any) -> Any:
    data: dict[str, Any] = {"study": {"kind": kind, "seed": 0}, "dataset": {"name": "digits"}}
    data.update(sections)
    return parse_study(data)


def _tiny(kind: str, **sections: Any) -> Any:
    """A digits study that trains in about a second: 200 training images, 1 epoch."""
    sections.setdefault("train", {"epochs": 1, "num_threads": 1})
    sections.setdefault("dataset", {"name": "digits", "subset": 200, "val_size": 100})
    return _config(kind, **sections)


# --- validation -----------------------------------------------------------------------------------

BAD = [
    ("autoaugment", {"sampler": {"batch_size": 0}}, "sampler.batch_size"),
    ("autoaugment", {"sampler": {"batchsize": 4}}, "sampler.batchsize"),
    ("autoaugment", {"sampler": {"learning_rate": -1.0}}, "sampler.learning_rate"),
    ("autoaugment", {"sampler": {"baseline_decay": 1.0}}, "sampler.baseline_decay"),
    ("autoaugment", {"sampler": {"hidden_size": "big"}}, "sampler.hidden_size"),
    ("autoaugment", {"sampler": {"ppo_epochs": True}}, "sampler.ppo_epochs"),
    ("autoaugment", {"sampler": {"seed": 3}}, "sampler.seed"),
    ("randaugment", {"sampler": {"batch_size": 4}}, "sampler.batch_size"),
    ("autoaugment", {"augment": {"n": [1, 2]}}, "augment.n"),
    ("autoaugment", {"augment": {"policy": "x"}}, "augment.policy"),
    ("randaugment", {"augment": {"n": []}}, "augment.n"),
    ("randaugment", {"augment": {"n": [1.5]}}, "augment.n[0]"),
    ("randaugment", {"augment": {"n": [2, -1]}}, "augment.n[1]"),
    ("randaugment", {"augment": {"m": [5, 5]}}, "augment.m"),
    ("randaugment", {"augment": {"m": [31]}}, "augment.m[0]"),
    ("randaugment", {"augment": {"m": [3], "num_magnitude_bins": 1}}, "augment.num_magnitude_bins"),
    ("randaugment", {"augment": {"num_magnitude_bins": 11}}, "augment.num_magnitude_bins"),
    ("randaugment", {"augment": {"prune": "yes"}}, "augment.prune"),
    ("autoaugment", {"augment": {"baselines": ["cutout"]}}, "augment.baselines"),
    ("autoaugment", {"augment": {"recipe": {"lr": -1.0}}}, "augment.recipe.lr"),
    ("autoaugment", {"augment": {"recipe": {"lrate": 0.1}}}, "augment.recipe.lrate"),
    ("autoaugment", {"augment": {"recipe": 3}}, "augment.recipe"),
    ("randaugment", {"train": {"augment": True}}, "train.augment"),
]


@pytest.mark.parametrize(("kind", "sections", "field"), BAD, ids=[b[2] + "-" + b[0] for b in BAD])
def test_bad_options_name_the_key(kind: str, sections: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:  # the schema or the study kind
        make_augment_sampler(_config(kind, **sections))
    assert info.value.field == field


def test_bad_file_writes_nothing(tmp_path: Path) -> None:
    # The typed [sampler] section rejects the value when the file is read, before any storage is opened.
    study_file = tmp_path / "s.toml"
    study_file.write_text('[study]\nkind = "autoaugment"\n\n[sampler]\nclip = 0.0\n', encoding="utf-8")
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError, match=r"^sampler\.clip=0\.0: must be a number in \(0, 1\]$"):
        run_study(load_study_file(study_file), storage_url=f"sqlite:///{db}", stream=io.StringIO())
    assert not db.exists()


def test_settings_defaults_and_grid_sampler_size() -> None:
    settings = augment_settings(_config("randaugment"))
    assert (settings.n_values, settings.m_values, settings.num_magnitude_bins) == ((1, 2, 3), (5, 9, 13), 31)
    assert settings.prune is True
    sampler = make_augment_sampler(_config("randaugment", augment={"n": [0, 2], "m": [3, 7, 11]}))
    assert isinstance(sampler, RandAugmentGridSampler)
    assert sampler.default_n_trials == 6


def test_autoaugment_sampler_is_ppo_with_file_options() -> None:
    sampler = make_augment_sampler(_config("autoaugment", sampler={"batch_size": 3, "hidden_size": 16}))
    assert isinstance(sampler, PPOSampler)
    assert sampler.batch_size == 3
    assert len(sampler.schema) == 30


def test_randaugment_grid_visits_every_point_once() -> None:
    config = _tiny("randaugment", augment={"n": [0, 2], "m": [3, 7, 11]})
    sampler = make_augment_sampler(config)
    objective = make_augment_objective(config, load_data(config))
    seen: list[tuple[int, int]] = []

    def fake(trial: optuna.Trial) -> float:
        pipeline, description = objective.pipeline(trial)
        n, m = trial.params[N_PARAM], trial.params[M_PARAM]
        assert description == f"randaugment:{n},{m}"
        assert len(pipeline.transforms[0].transforms) == n  # N slots of OneOf(ops)
        seen.append((n, m))
        return float(n + m)

    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(fake, n_trials=sampler.default_n_trials)
    assert sorted(seen) == sorted(itertools.product([0, 2], [3, 7, 11]))


# --- the child --------------------------------------------------------------------------------------


def test_default_child_is_the_smallest_preset_network() -> None:
    assert str(child_arch(_config("autoaugment").space, 8)) == DIGITS_CHILD
    cifar = _config("autoaugment", space={"preset": "cifar"}).space
    assert str(child_arch(cifar, 32)) == CIFAR_CHILD
    # Resolution: the smallest of the range >= the image size, else the largest.
    assert child_arch(cifar, 20).resolution == 24
    assert child_arch(cifar, 28).resolution == 28
    assert child_arch(cifar, 64).resolution == 32
    fixed = _config("autoaugment", space={"preset": "digits", "fixed": {"g1_c": 32, "resolution": 16}}).space
    assert str(child_arch(fixed, 8)) == DIGITS_CHILD.replace("c16_s2", "c32_s2").replace("res8", "res16")


def test_space_arch_is_the_child() -> None:
    text = "res16 stem_k3_s1_c16_hs ir_k5_e3_c24_s2_n2_hs head_c64_hs"
    config = _config("randaugment", space={"preset": "digits", "arch": text})
    assert child_arch(config.space, 8) == Arch.parse(text)


def test_child_recipe_precedence() -> None:
    config = _config("autoaugment")
    assert child_recipe(config) == Recipe(**CHILD_RECIPE, ema_decay=0.98, epochs=6, batch_size=64, warmup_epochs=0.5)
    config = _config(
        "autoaugment",
        space={"preset": "digits", "fixed": {"label_smoothing": 0.05, "lr": 0.01}},
        augment={"recipe": {"lr": 0.2, "epochs": 2}},
    )
    recipe = child_recipe(config)
    assert (recipe.label_smoothing, recipe.lr, recipe.epochs, recipe.batch_size) == (0.05, 0.2, 2, 64)


# --- the objective ----------------------------------------------------------------------------------


def _policy_trials(config: Any, pruner: optuna.pruners.BasePruner, n_trials: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=make_augment_sampler(config), pruner=pruner)
    study.optimize(make_augment_objective(config, load_data(config)), n_trials=n_trials)
    return study


def test_autoaugment_objective_records_policy_and_curve() -> None:
    config = _tiny("autoaugment", sampler={"batch_size": 2}, train={"epochs": 2, "num_threads": 1})
    study = _policy_trials(config, optuna.pruners.NopPruner(), 2)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert Policy.from_json(trial.user_attrs[POLICY_ATTR]) == policy_from_params(trial.params)
        assert trial.user_attrs["arch"] == DIGITS_CHILD
        assert trial.user_attrs["epochs_trained"] == 2
        assert sorted(trial.intermediate_values) == [1, 2]
        assert trial.intermediate_values[2] == trial.value


@pytest.mark.parametrize("prune", [True, False])
def test_pruning_follows_the_prune_option(prune: bool) -> None:
    config = _tiny("autoaugment", augment={"prune": prune}, train={"epochs": 2, "num_threads": 1})
    study = _policy_trials(config, optuna.pruners.ThresholdPruner(lower=1.01), 1)
    trial = study.trials[0]
    if prune:
        assert trial.state == optuna.trial.TrialState.PRUNED
        assert sorted(trial.intermediate_values) == [1]
    else:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert sorted(trial.intermediate_values) == [1, 2]


def test_sample_pairing_partners_come_from_the_pool() -> None:
    op = PolicyOp("SamplePairing", 1.0, 9)
    pipeline = Policy((SubPolicy((op,)),)).to_albumentations(seed=0)
    rng = np.random.default_rng(0)
    x, y = (rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(2))
    with pytest.raises(ConfigError, match="SamplePairing"):
        pipeline(image=x)
    attach_pairing_pool(pipeline, [y])
    expected = np.asarray(Image.blend(Image.fromarray(x), Image.fromarray(y), 0.4))
    np.testing.assert_array_equal(pipeline(image=x)["image"], expected)


def test_objective_trains_sample_pairing_policies() -> None:
    config = _tiny("autoaugment")
    objective = make_augment_objective(config, load_data(config))
    policy = Policy((SubPolicy.of(("SamplePairing", 1.0, 9), ("Rotate", 0.5, 3)),))
    result = objective.fit(policy.to_albumentations(seed=0))
    assert result.epochs == 1 and 0.0 <= result.accuracy <= 1.0


def test_baselines_use_the_same_child_and_are_stored() -> None:
    config = _tiny("autoaugment", augment={"baselines": ["none", "autoaugment:svhn"]})
    data = load_data(config)
    study = optuna.create_study(direction="maximize")
    results = evaluate_baselines(config, data, study=study)
    assert list(results) == ["none", "autoaugment:svhn"]
    for name, entry in results.items():
        assert study.user_attrs[f"baseline:{name}"] == entry
        assert entry["epochs"] == 1 and entry["test_accuracy"] is None
    # "none" is the child with the standard crop only: the same run as fit(None), seed for seed.
    again = make_augment_objective(config, data).fit(None)
    assert results["none"]["val_accuracy"] == again.accuracy
    other = evaluate_baselines(dataclasses.replace(config, seed=1), data, names=["trivialaugment"])
    assert list(other) == ["trivialaugment"]


@pytest.mark.parametrize(
    ("train", "expected"),
    [
        ({"epoch": 3}, "train.epoch=3: unknown key"),
        ({"augment": "imagenet"}, "train.augment='imagenet': an augmentation study searches the augmentation itself"),
    ],
)
def test_augment_objective_checks_its_train_table(train: dict[str, Any], expected: str) -> None:
    """Issue 15: ``AugmentObjective(train=...)`` from Python parses the typed ``[train]`` section."""
    config = parse_study({"study": {"kind": "randaugment"}, "dataset": {"name": "digits", "subset": 50}})
    objective = make_augment_objective(config, load_data(config))
    with pytest.raises(ConfigError) as info:
        dataclasses.replace(objective, train=train)
    assert str(info.value).startswith(expected)
