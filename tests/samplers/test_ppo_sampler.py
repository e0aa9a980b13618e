"""PPOSampler: validation, stored rollouts, deterministic rebuild, seeding, learning."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import optuna
import pytest
import torch

from optnas import ConfigError
from optnas.controller import Decision, PolicyController, autoaugment_schema
from optnas.samplers import PPOSampler
from optnas.samplers._ppo import ROLLOUT_KEY

optuna.logging.set_verbosity(optuna.logging.WARNING)
SCHEMA = autoaugment_schema()
# A known optimal policy: decision k takes choice (7k + 3) mod width.
TARGET = {d.name: d.choices[(7 * k + 3) % len(d.choices)] for k, d in enumerate(SCHEMA)}
RANDOM_MEAN = sum(1 / n for n in SCHEMA.num_choices) / len(SCHEMA)  # E[reward] of random search


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # The controller is tiny; intra-op threads only add contention on a shared 2-core machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def match_fraction(trial: optuna.Trial) -> float:
    """Synthetic reward: the fraction of the 30 decisions equal to TARGET's."""
    params = {d.name: trial.suggest_categorical(d.name, d.choices) for d in SCHEMA}
    return sum(params[n] == TARGET[n] for n in SCHEMA.names) / len(SCHEMA)


def _small(seed: int = 0, **kw: Any) -> PPOSampler:
    kw.setdefault("batch_size", 4)
    kw.setdefault("hidden_size", 8)
    kw.setdefault("learning_rate", 0.01)
    return PPOSampler(seed=seed, **kw)


def _run(
    sampler: PPOSampler,
    n_trials: int,
    objective: Callable[[optuna.Trial], float] = match_fraction,
    direction: str = "maximize",
) -> optuna.Study:
    study = optuna.create_study(direction=direction, sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return study


def _versions(study: optuna.Study) -> list[int | None]:
    return [t.system_attrs.get(ROLLOUT_KEY, {}).get("version") for t in study.trials]


def _proposals(study: optuna.Study) -> list[tuple[Any, ...]]:
    return [tuple(t.params[n] for n in SCHEMA.names) for t in study.trials]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"entropy_weight": -1.0}, "entropy_weight"),
        ({"baseline_decay": 1.0}, "baseline_decay"),
        ({"clip": 0.0}, "clip"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"ppo_epochs": 0}, "ppo_epochs"),
        ({"decisions": []}, "decisions"),
        ({"decisions": [Decision("a", (1,)), Decision("a", (2,))]}, "decisions"),
        ({"independent_sampler": "random"}, "independent_sampler"),
    ],
)
def test_constructor_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        PPOSampler(**kwargs)
    assert info.value.field == field


def test_constructor_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        PPOSampler(0)  # type: ignore[misc]


def test_default_schema_and_relative_space() -> None:
    sampler = PPOSampler(seed=0)
    assert sampler.schema == SCHEMA
    study = optuna.create_study(sampler=sampler)
    space = sampler.infer_relative_search_space(study, study.ask()._cached_frozen_trial)
    assert space == SCHEMA.distributions()


def test_rollouts_are_stored_and_consistent() -> None:
    sampler = _small(batch_size=4)
    study = _run(sampler, 10)
    for trial in study.trials:
        assert set(trial.system_attrs) == {ROLLOUT_KEY}
        rollout = trial.system_attrs[ROLLOUT_KEY]
        assert set(rollout) == {"schema", "version", "actions", "log_probs"}
        actions, log_probs = rollout["actions"], rollout["log_probs"]
        assert rollout["schema"] == SCHEMA.fingerprint
        assert SCHEMA.values(actions) == trial.params
        assert all(isinstance(a, int) for a in actions) and len(log_probs) == 30
        assert all(lp <= 0.0 and math.isfinite(lp) for lp in log_probs)
        # Small enough for any RDB attribute column (TEXT).
        assert len(json.dumps(rollout)) < 1500
    # Sequential study: trial n was sampled after n // 4 full batches had completed.
    assert _versions(study) == [n // 4 for n in range(10)]
    state = sampler.state(study)
    assert state.update_count == 2
    assert state.trial_numbers == tuple(range(8))
    assert set(state.greedy_params) == set(SCHEMA.names)


def _controller(sampler: PPOSampler, study: optuna.Study, version: int) -> PolicyController:
    snapshot = sampler.state(study, version=version)
    controller = PolicyController(SCHEMA.num_choices, hidden_size=8, generator=torch.Generator())
    controller.load_state_dict(snapshot.parameters)
    return controller


def test_stored_log_probs_are_those_of_the_rebuilt_policy_version() -> None:
    sampler = _small(batch_size=4)
    study = _run(sampler, 14)
    fresh = _small()  # rebuilds every version from storage alone
    for version in range(4):
        controller = _controller(fresh, study, version)
        rollouts = [
            t.system_attrs[ROLLOUT_KEY] for t in study.trials if t.system_attrs[ROLLOUT_KEY]["version"] == version
        ]
        assert rollouts
        actions = torch.tensor([r["actions"] for r in rollouts])
        stored = torch.tensor([r["log_probs"] for r in rollouts])
        with torch.no_grad():
            evaluated, _ = controller.evaluate(actions)
        torch.testing.assert_close(evaluated, stored, rtol=0, atol=1e-5)
    with pytest.raises(ConfigError, match="version"):
        fresh.state(study, version=4)


def test_incremental_cache_equals_rebuild_from_storage() -> None:
    sampler = _small(seed=5, batch_size=3)
    study = _run(sampler, 20)
    cached = sampler.state(study)
    rebuilt = _small(seed=5, batch_size=3).state(study)
    assert cached.update_count == rebuilt.update_count == 6
    assert cached.trial_numbers == rebuilt.trial_numbers == tuple(range(18))
    assert cached.baseline == rebuilt.baseline
    for name, value in cached.parameters.items():
        assert torch.equal(value, rebuilt.parameters[name]), name
    # A different seed means a different initial controller, hence different weights.
    other = _small(seed=6, batch_size=3).state(study)
    assert not torch.equal(other.parameters["start"], cached.parameters["start"])


def test_same_seed_same_proposals_different_seed_different() -> None:
    a = _proposals(_run(_small(seed=11), 12))
    b = _proposals(_run(_small(seed=11), 12))
    c = _proposals(_run(_small(seed=12), 12))
    assert a == b
    assert all(x != y for x, y in zip(a, c, strict=True))
    assert len(set(a)) == len(a)


def test_reseed_rng_changes_the_stream_not_the_controller() -> None:
    reseeded, plain = _small(seed=3), _small(seed=3)
    study_r = optuna.create_study(direction="maximize", sampler=reseeded)
    study_p = optuna.create_study(direction="maximize", sampler=plain)
    study_r.optimize(match_fraction, n_trials=4)
    study_p.optimize(match_fraction, n_trials=4)
    assert _proposals(study_r) == _proposals(study_p)
    reseeded.reseed_rng()
    study_r.optimize(match_fraction, n_trials=3)
    study_p.optimize(match_fraction, n_trials=3)
    after_r, after_p = _proposals(study_r)[4:], _proposals(study_p)[4:]
    assert all(x != y for x, y in zip(after_r, after_p, strict=True))
    # The controller (initialisation + one update from the first batch) is unaffected.
    state_r = _small(seed=3).state(study_r, version=1)
    state_p = _small(seed=3).state(study_p, version=1)
    for name, value in state_r.parameters.items():
        assert torch.equal(value, state_p.parameters[name])


def test_minimize_uses_negated_values() -> None:
    maximized = _run(_small(seed=2), 12)
    minimized = _run(_small(seed=2), 12, lambda t: -match_fraction(t), "minimize")
    assert _proposals(maximized) == _proposals(minimized)
    a, b = _small(seed=2).state(maximized), _small(seed=2).state(minimized)
    assert a.baseline == b.baseline and a.baseline is not None and a.baseline > 0
    for name, value in a.parameters.items():
        assert torch.equal(value, b.parameters[name])


def test_only_unchanged_completed_proposals_are_rollouts() -> None:
    sampler = _small(batch_size=2)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(match_fraction, n_trials=2)  # 0, 1: rollouts
    study.enqueue_trial({d.name: d.choices[0] for d in SCHEMA})
    study.optimize(match_fraction, n_trials=1)  # 2: enqueued, not the controller's proposal

    def partial(trial: optuna.Trial) -> float:
        return float(trial.suggest_categorical("sp0_op0_type", SCHEMA.decisions[0].choices) == "ShearX")

    def failing(trial: optuna.Trial) -> float:
        match_fraction(trial)
        raise RuntimeError("child training crashed")

    def pruned(trial: optuna.Trial) -> float:
        match_fraction(trial)
        raise optuna.TrialPruned

    study.optimize(partial, n_trials=1)  # 3: did not use the whole proposal
    study.optimize(failing, n_trials=1, catch=(RuntimeError,))  # 4: failed
    study.optimize(pruned, n_trials=1)  # 5: pruned
    study.optimize(lambda t: match_fraction(t) * math.inf, n_trials=1)  # 6: infinite value
    study.optimize(match_fraction, n_trials=3)  # 7, 8, 9: rollouts
    state = sampler.state(study)
    assert state.trial_numbers == (0, 1, 7, 8)
    assert state.update_count == 2
    versions = _versions(study)
    # Trial 2 had every parameter fixed, so the controller never sampled for it.
    assert versions == [0, 0, None, 1, 1, 1, 1, 1, 1, 2]
    assert study.trials[6].value == math.inf


def test_other_parameters_fall_back_and_custom_schema() -> None:
    decisions = [Decision("depth", (1, 2, 3)), Decision("act", ("relu", "gelu"))]
    sampler = PPOSampler(seed=0, batch_size=3, hidden_size=4, decisions=decisions)

    def objective(trial: optuna.Trial) -> float:
        depth = trial.suggest_categorical("depth", (1, 2, 3))
        act = trial.suggest_categorical("act", ("relu", "gelu"))
        x = trial.suggest_float("x", -1.0, 1.0)
        return float(depth) + (act == "gelu") - x * x

    study = _run(sampler, 9, objective)
    assert sampler.state(study).update_count == 3
    for trial in study.trials:
        actions = trial.system_attrs[ROLLOUT_KEY]["actions"]
        assert [trial.params["depth"], trial.params["act"]] == [
            (1, 2, 3)[actions[0]],
            ("relu", "gelu")[actions[1]],
        ]
        assert -1.0 <= trial.params["x"] <= 1.0
    assert len({t.params["x"] for t in study.trials}) == 9


def test_cache_follows_the_study() -> None:
    sampler = _small(seed=1)
    first = _run(sampler, 8)
    second = optuna.create_study(direction="maximize", sampler=sampler)
    second.optimize(match_fraction, n_trials=5)
    assert sampler.state(second).trial_numbers == (0, 1, 2, 3)
    fresh_second = _small(seed=1).state(second)
    for name, value in sampler.state(second).parameters.items():
        assert torch.equal(value, fresh_second.parameters[name])
    assert sampler.state(first).trial_numbers == tuple(range(8))


def test_learns_a_known_optimum_better_than_random_search() -> None:
    # Smaller controller and a larger learning rate than the paper's so that a few hundred
    # trials suffice in a unit test; benchmarks/ppo_learning.py runs the paper's settings.
    sampler = PPOSampler(seed=0, batch_size=10, learning_rate=0.01, hidden_size=32, ppo_epochs=4)
    study = _run(sampler, 300)
    values = [t.value for t in study.trials]
    assert all(v is not None for v in values)
    first, last = values[:50], values[-100:]
    random_study = _run(optuna.samplers.RandomSampler(seed=0), 300)  # type: ignore[arg-type]
    random_mean = sum(t.value for t in random_study.trials) / 300  # type: ignore[misc]
    assert random_mean == pytest.approx(RANDOM_MEAN, abs=0.02)
    assert sum(first) / 50 == pytest.approx(RANDOM_MEAN, abs=0.04)  # starts near random
    assert sum(last) / 100 > random_mean + 0.25  # clearly learned (observed: about 0.65)
    greedy = sampler.state(study).greedy_params
    assert sum(greedy[n] == TARGET[n] for n in SCHEMA.names) >= 15


def test_pickle_round_trip_keeps_the_proposals() -> None:
    sampler = _small(seed=4)
    study = _run(sampler, 6)
    clone = pickle.loads(pickle.dumps(sampler))
    assert clone.ROLLOUT_KEY == PPOSampler.ROLLOUT_KEY == ROLLOUT_KEY
    a = sampler.sample_relative(study, study.ask()._cached_frozen_trial, SCHEMA.distributions())
    b = clone.sample_relative(study, study.ask()._cached_frozen_trial, SCHEMA.distributions())
    # Different trial numbers (6, 7) draw from different streams of the same controller.
    assert a != b
    assert sampler.state(study).parameters.keys() == clone.state(study).parameters.keys()
    for name, value in sampler.state(study).parameters.items():
        assert torch.equal(value, clone.state(study).parameters[name])


def test_suggest_policy_trials_are_rollouts() -> None:
    augment = pytest.importorskip("optnas.augment", reason="optnas.augment not available")
    if not hasattr(augment, "suggest_policy"):
        pytest.skip("optnas.augment.suggest_policy not written yet")
    sampler = _small(batch_size=3)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(len(augment.suggest_policy(t).subpolicies)), n_trials=6)
    assert sampler.state(study).trial_numbers == tuple(range(6))
    for trial in study.trials:
        assert SCHEMA.values(trial.system_attrs[ROLLOUT_KEY]["actions"]) == trial.params


def test_retried_trial_reuses_its_original_rollout() -> None:
    sampler = _small(batch_size=2)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def crashing(trial: optuna.Trial) -> float:
        match_fraction(trial)
        raise RuntimeError("worker died")

    study.optimize(crashing, n_trials=1, catch=(RuntimeError,))  # 0: failed
    failed = study.trials[0]
    # What a heartbeat-detected dead worker triggers: a WAITING copy with params and attrs.
    optuna.storages.RetryHeartbeatStaleTrialCallback()(study, failed)

    def with_extra_param(trial: optuna.Trial) -> float:
        trial.suggest_float("lr", 1e-3, 1e-1, log=True)  # triggers sample_relative
        return match_fraction(trial)

    study.optimize(with_extra_param, n_trials=2)  # 1: the retry, 2: a new proposal
    retried = study.trials[1]
    assert retried.system_attrs["failed_trial"] == 0
    assert retried.params == {**failed.params, "lr": retried.params["lr"]}
    assert retried.system_attrs[ROLLOUT_KEY] == failed.system_attrs[ROLLOUT_KEY]
    assert sampler.state(study).trial_numbers == (1, 2)
