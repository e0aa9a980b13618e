"""``JointNASObjective`` from Python (the README quickstart): it never prunes, whatever the
study's pruner, and warns once about non-finite accuracies (issue 14)."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from optnas.data import load
from optnas.space import preset
from optnas.studies import JointNASObjective

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.fixture(scope="module")
def data() -> Any:
    return load("digits", subset=100, seed=0)


def test_jointnas_never_prunes_with_the_study_pruner(data: Any) -> None:
    # A pruner that prunes at every step: before the fix, every trial was PRUNED after epoch 1.
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.ThresholdPruner(lower=2.0),
    )
    objective = JointNASObjective(preset("digits"), data, seed=0, train={"epochs": 2, "num_threads": 1})
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    for t in study.trials:  # the learning curve is still reported (the sampler's early stopping reads it)
        assert sorted(t.intermediate_values) == [1, 2]


def test_default_median_pruner_prunes_nothing(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README quickstart's study (no ``pruner=``: Optuna's MedianPruner), with curves that it would prune."""
    import optnas.train

    calls = iter(range(100))

    def fake_train(*args: Any, trial: Any = None, **kwargs: Any) -> Any:
        n = next(calls)
        acc = 0.9 if n < 5 else 0.1  # the later trials are far below the median at every epoch
        for epoch in (1, 2):
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return SimpleNamespace(accuracy=acc, epochs=2, best_accuracy=acc, diverged=True, model=None)

    monkeypatch.setattr(optnas.train, "train_and_evaluate", fake_train)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    assert isinstance(study.pruner, optuna.pruners.MedianPruner)
    study.optimize(JointNASObjective(preset("digits"), data, seed=0), n_trials=8)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8


def test_nan_accuracy_warns_once(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import optnas.train

    monkeypatch.setattr(
        optnas.train,
        "train_and_evaluate",
        lambda *a, **k: SimpleNamespace(accuracy=math.nan, epochs=1, best_accuracy=math.nan, diverged=True, model=None),
    )
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(JointNASObjective(preset("digits"), data, seed=0), n_trials=3)
    ours = [w for w in caught if "JointNASObjective" in str(w.message)]
    assert len(ours) == 1 and "non-finite accuracy" in str(ours[0].message)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 3


def test_an_early_stopping_budget_trains_the_prefix_of_the_full_schedule(data: Any) -> None:
    """The sampler compares an early-stopped candidate's accuracy at epoch ``e`` with the full runs'
    curves at ``e``: both must come from one schedule (issue 13's fidelity item)."""
    objective = JointNASObjective(preset("digits"), data, seed=0, train={"epochs": 3, "num_threads": 1})
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=4))
    study.optimize(objective, n_trials=1)
    full = study.trials[0]
    study.enqueue_trial(full.params, user_attrs={"epoch_budget": 2})
    study.optimize(objective, n_trials=1)
    early = study.trials[1]
    assert early.params == full.params and early.user_attrs["epochs_trained"] == 2
    assert early.intermediate_values == {e: full.intermediate_values[e] for e in (1, 2)}
    assert early.value == full.intermediate_values[2]


@pytest.mark.parametrize(
    ("train", "expected"),
    [
        ({"epoch": 3}, "train.epoch=3: unknown key; expected one of ["),
        ({"epochs": "3"}, "train.epochs='3': must be a positive integer, got a string"),
        ({"augment": 5}, "train.augment=5: must be a string"),
    ],
)
def test_the_python_train_table_is_checked_not_ignored(train: dict[str, Any], expected: str, data: Any) -> None:
    """Issue 15: ``train=`` from Python is the study file's typed ``[train]`` section (no key silently ignored)."""
    from optnas import ConfigError

    with pytest.raises(ConfigError) as info:
        JointNASObjective(preset("digits"), data, train=train)
    assert str(info.value).startswith(expected)


def test_the_train_table_becomes_the_typed_section(data: Any) -> None:
    from optnas.studies._sections import TrainSection

    objective = JointNASObjective(preset("digits"), data, train={"epochs": 2})
    assert objective._train == TrainSection(epochs=2)
