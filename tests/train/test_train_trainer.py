"""optnas.train.train_and_evaluate: determinism, recipe knobs, pruning, results, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import optuna
import pytest
import torch

from optnas import ConfigError
from optnas.cost import count
from optnas.data import ImageData, load
from optnas.space import Arch, Recipe, preset
from optnas.train import TrainResult, train_and_evaluate


def _run(arch: Arch, recipe: Recipe, data: ImageData, **kw: object) -> TrainResult:
    kw.setdefault("num_threads", 1)
    return train_and_evaluate(arch, recipe, data, **kw)  # type: ignore[arg-type]


def test_same_seed_same_curve_and_global_state_untouched(
    tiny_arch: Arch, recipe: Recipe, small_digits: ImageData
) -> None:
    recipe = dataclasses.replace(recipe, dropout=0.2, stochastic_depth=0.2, mixup_alpha=0.2, ema=True)
    before = torch.random.get_rng_state()
    a = _run(tiny_arch, recipe, small_digits, seed=7)
    assert torch.equal(torch.random.get_rng_state(), before)  # nothing leaks out
    with torch.random.fork_rng(devices=[]):
        torch.rand(100)  # moving the caller's global generator changes nothing inside
        b = _run(tiny_arch, recipe, small_digits, seed=7)
    assert a.curve == b.curve and a.train_loss == b.train_loss
    assert len(a.curve) == 3 and a.epochs == 3
    c = _run(tiny_arch, recipe, small_digits, seed=8)
    assert c.train_loss != a.train_loss and c.curve != a.curve


def test_result_fields(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    r = _run(tiny_arch, recipe, small_digits)
    assert r.accuracy == r.curve[-1] and r.best_accuracy == max(r.curve)
    assert r.wall_time >= r.train_time > 0
    assert r.cost == count(tiny_arch, 10)
    assert r.test_accuracy is None and r.diverged is False
    # accuracy is a fraction of the 359 validation images
    assert all(abs(a * 359 - round(a * 359)) < 1e-9 for a in r.curve)
    assert r.train_loss[-1] < r.train_loss[0]
    d = r.to_dict()
    assert d["curve"] == list(r.curve) and d["cost"]["macs"] == r.cost.macs


def test_learns_digits_well_above_chance() -> None:
    space = preset("digits")
    params = {
        "resolution": 12,
        "stem_c": 16,
        "g0_c": 16,
        "g0_n": 1,
        "g1_k": 3,
        "g1_e": 3,
        "g1_c": 24,
        "g1_n": 1,
        "g2_k": 3,
        "g2_e": 3,
        "g2_c": 32,
        "g2_n": 1,
        "optimizer": "adamw",
        "lr": 0.02,
        "weight_decay": 1e-4,
        "mixup_alpha": 0.0,
        "dropout": 0.1,
        "stochastic_depth": 0.0,
        "ema": False,
        "label_smoothing": 0.05,
    }
    arch, recipe = space.decode_params(params)
    r = _run(arch, recipe, load("digits"), epochs=3)
    assert r.accuracy > 0.5, r.curve


def test_epochs_override(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    r = _run(tiny_arch, recipe, small_digits, epochs=1)
    assert len(r.curve) == 1 and r.epochs == 1


def test_ema_runs_and_changes_the_evaluated_model(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    plain = _run(tiny_arch, recipe, small_digits)
    ema = _run(tiny_arch, dataclasses.replace(recipe, ema=True, ema_decay=0.9), small_digits)
    # the training trajectory is identical; only the evaluated weights differ
    assert ema.train_loss == plain.train_loss
    assert ema.curve != plain.curve
    assert ema.accuracy > 0.3


def test_mixup_changes_training_and_is_deterministic(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    mixed = dataclasses.replace(recipe, mixup_alpha=0.4)
    a = _run(tiny_arch, mixed, small_digits, epochs=1)
    b = _run(tiny_arch, mixed, small_digits, epochs=1)
    plain = _run(tiny_arch, recipe, small_digits, epochs=1)
    assert a.train_loss == b.train_loss and a.curve == b.curve
    assert a.train_loss != plain.train_loss
    assert all(np.isfinite(a.train_loss))


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.1), ("rmsprop", 0.005), ("adamw", 0.03)])
def test_each_optimizer_trains(
    tiny_arch: Arch, recipe: Recipe, small_digits: ImageData, optimizer: str, lr: float
) -> None:
    r = _run(tiny_arch, dataclasses.replace(recipe, optimizer=optimizer, lr=lr), small_digits)
    assert not r.diverged and all(np.isfinite(r.train_loss))
    assert r.train_loss[-1] < r.train_loss[0]
    assert r.best_accuracy > 0.2


def test_dropout_and_label_smoothing_change_training(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    base = _run(tiny_arch, recipe, small_digits, epochs=1)
    for change in ({"dropout": 0.3}, {"stochastic_depth": 0.2}, {"label_smoothing": 0.2}, {"weight_decay": 0.5}):
        other = _run(tiny_arch, dataclasses.replace(recipe, **change), small_digits, epochs=1)
        assert other.train_loss != base.train_loss, change


def test_divergence_stops_training(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    r = _run(tiny_arch, dataclasses.replace(recipe, optimizer="sgd", lr=1e4), small_digits)
    assert r.diverged and r.epochs == len(r.curve) < 3


def test_pruning_raises_trial_pruned_and_reports_epochs(
    tiny_arch: Arch, recipe: Recipe, small_digits: ImageData
) -> None:
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.99))

    def objective(trial: optuna.Trial) -> float:
        return _run(tiny_arch, recipe, small_digits, trial=trial).accuracy

    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [1]  # 1-based epoch steps; stopped after the first

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    results: list[TrainResult] = []

    def keep(trial: optuna.Trial) -> float:
        results.append(_run(tiny_arch, recipe, small_digits, trial=trial))
        return results[-1].accuracy

    study.optimize(keep, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.intermediate_values == {i + 1: a for i, a in enumerate(results[0].curve)}


def test_test_accuracy_when_requested(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    with pytest.raises(ConfigError) as err:
        _run(tiny_arch, recipe, small_digits, evaluate_test=True)
    assert err.value.field == "evaluate_test"
    with_test = dataclasses.replace(small_digits, test_x=small_digits.val_x, test_y=small_digits.val_y)
    r = _run(tiny_arch, recipe, with_test, evaluate_test=True, epochs=1)
    assert r.test_accuracy == r.accuracy  # the test split here is the validation split


def test_num_threads_restored(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    before = torch.get_num_threads()
    _run(tiny_arch, recipe, small_digits, epochs=1)
    assert torch.get_num_threads() == before


def test_progress_bar_only_when_asked(
    tiny_arch: Arch, recipe: Recipe, small_digits: ImageData, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tiny_arch, recipe, small_digits, epochs=1)  # stderr is captured: not a TTY
    assert capsys.readouterr().err == ""
    _run(tiny_arch, recipe, small_digits, epochs=1, progress=True)
    assert "step" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"epochs": 0}, "epochs"),
        ({"num_threads": 0}, "num_threads"),
        ({"device": "nonsense"}, "device"),
        ({"augment": "flip"}, "augment"),
    ],
)
def test_bad_arguments_name_the_field(
    tiny_arch: Arch, recipe: Recipe, small_digits: ImageData, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _run(tiny_arch, recipe, small_digits, **kwargs)
    assert err.value.field == field


def test_rejects_wrong_types(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    with pytest.raises(ConfigError) as err:
        train_and_evaluate(str(tiny_arch), recipe, small_digits)  # type: ignore[arg-type]
    assert err.value.field == "arch"
    with pytest.raises(ConfigError) as err:
        train_and_evaluate(tiny_arch, recipe, small_digits.train_x)  # type: ignore[arg-type]
    assert err.value.field == "data"


def test_stop_after_is_the_prefix_of_the_full_run(small_digits: ImageData, tiny_arch: Arch, recipe: Recipe) -> None:
    """Early stopping at equal fidelity (FBNetV3 Sec. 3.1): the first ``e`` epochs of the full
    schedule, not a schedule compressed into ``e`` epochs."""
    full = train_and_evaluate(tiny_arch, recipe, small_digits, seed=3, num_threads=1)
    early = train_and_evaluate(tiny_arch, recipe, small_digits, seed=3, num_threads=1, stop_after=2)
    compressed = train_and_evaluate(tiny_arch, recipe, small_digits, seed=3, num_threads=1, epochs=2)
    assert recipe.epochs == 3 and early.epochs == 2
    assert early.curve == full.curve[:2]  # exactly: same seed, same schedule
    assert compressed.curve != full.curve[:2]  # the compressed schedule is another fidelity
    with pytest.raises(ConfigError, match="stop_after"):
        train_and_evaluate(tiny_arch, recipe, small_digits, stop_after=0)
