"""JointNASSampler proposals (FBNetV3 Alg. 1) with a synthetic, cost-model based objective.

Nothing is trained: the "accuracy" of a candidate is a smooth function of its exact MACs and its
learning rate, with per-epoch curves reported like a real training run.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import torch
from optuna.artifacts import FileSystemArtifactStore
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from optnas import ConfigError
from optnas.constraints import Constraint, max_macs, max_params, minimum_cost
from optnas.cost import count
from optnas.evolution import GAConfig
from optnas.predictor import PredictorConfig
from optnas.samplers import JointNASSampler
from optnas.samplers._jointnas import epoch_budget
from optnas.space import preset
from optnas.studies import load_predictor, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = preset("digits")
FAST = PredictorConfig(hidden=32, embedding=16, head_hidden=16, pretrain_samples=256, pretrain_steps=60, fit_steps=60)
SMALL_GA = GAConfig(population=16, n_best=4, n_random=12, max_generations=10, init_pool=256)
CONSTRAINTS = (max_macs(6e5), max_params(3e4))
EPOCHS = 4


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_sampler(**kw: Any) -> JointNASSampler:
    settings: dict[str, Any] = {
        "space": SPACE,
        "num_classes": 10,
        "batch_size": 4,
        "n_batches": 2,
        "pool_size": 128,
        "final_batch_size": 2,
        "seed": 0,
        "predictor_config": FAST,
        "ga_config": SMALL_GA,
    }
    settings.update(kw)
    return JointNASSampler(**settings)


def synthetic_accuracy(params: dict[str, Any]) -> float:
    arch, recipe = SPACE.decode_params(params)
    return 0.5 + 0.04 * math.log(count(arch, 10).macs / 1e5) - 0.02 * abs(math.log10(recipe.lr) + 1.5)


def objective(trial: optuna.Trial) -> float:
    """Reports ``EPOCHS`` (or the sampler's early-stopping budget) epochs of a rising curve."""
    SPACE.suggest(trial)
    acc = synthetic_accuracy(trial.params)
    epochs = epoch_budget(trial) or EPOCHS
    for e in range(1, epochs + 1):
        trial.report(acc * e / EPOCHS, e)
    return acc * epochs / EPOCHS


def run(sampler: JointNASSampler, n_trials: int, func: Callable[[optuna.Trial], float] = objective) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(func, n_trials=n_trials)
    return study


def proposals(study: optuna.Study) -> list[dict[str, Any]]:
    return [t.params for t in sorted(study.trials, key=lambda t: t.number)]


@pytest.fixture(scope="module")
def constrained() -> optuna.Study:
    """Two stage-1 batches of 4 and a stage-2 batch of 2 under MACs and params budgets."""
    torch.set_num_threads(1)
    return run(make_sampler(constraints=CONSTRAINTS), 10)


def _min_pairwise(x: np.ndarray) -> float:
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    return float(d[np.triu_indices(len(x), 1)].min())


def test_first_batch_is_feasible_and_space_filling(constrained: optuna.Study) -> None:
    sampler = make_sampler(constraints=CONSTRAINTS)
    pool, _ = sampler._feasible_pool(np.random.default_rng([0, 0]), sampler.pool_size)
    first = [t for t in constrained.trials if t.user_attrs["batch"] == 0]
    assert len(first) == 4
    cols = SPACE.to_columns([t.params for t in first])
    # Every candidate of batch 1 comes from the constraint-filtered QMC pool ...
    pool_rows = {tuple(np.round(r, 10)) for r in pool}
    assert all(tuple(np.round(r, 10)) in pool_rows for r in cols)
    # ... and they are spread out: farther apart than almost every random 4-subset of that pool.
    enc_pool = SPACE.encode(pool)
    spread = _min_pairwise(SPACE.encode(cols))
    rng = np.random.default_rng(1)
    random_spreads = [_min_pairwise(enc_pool[rng.choice(len(pool), 4, replace=False)]) for _ in range(300)]
    assert spread > np.quantile(random_spreads, 0.95)


def test_every_proposal_has_exact_feasible_cost(constrained: optuna.Study) -> None:
    assert len(constrained.trials) == 10
    for t in constrained.trials:
        arch, _ = SPACE.decode_params(t.params)
        cost = count(arch, 10)
        assert (t.user_attrs["macs"], t.user_attrs["params"]) == (cost.macs, cost.params)
        assert cost.macs <= 6e5 and cost.params <= 3e4


def test_user_attrs_describe_the_plan(constrained: optuna.Study) -> None:
    trials = sorted(constrained.trials, key=lambda t: t.number)
    layout = [(t.user_attrs["stage"], t.user_attrs["batch"], t.user_attrs["slot"]) for t in trials]
    assert layout == [("stage1", 0, j) for j in range(4)] + [("stage1", 1, j) for j in range(4)] + [
        ("stage2", 2, j) for j in range(2)
    ]
    for t in trials:
        assert {"stage", "batch", "slot", "predicted_accuracy", "macs", "params", "epoch_budget"} <= t.user_attrs.keys()
        predicted = t.user_attrs["predicted_accuracy"]
        if t.user_attrs["batch"] == 0:
            assert predicted is None  # space-filling: nothing to predict with yet
        else:
            assert isinstance(predicted, float) and math.isfinite(predicted)
    # Within a predicted batch, slots are in order of predicted accuracy.
    for b in (1, 2):
        preds = [t.user_attrs["predicted_accuracy"] for t in trials if t.user_attrs["batch"] == b]
        assert preds == sorted(preds, reverse=True)


def test_later_batches_beat_the_space_filling_batch(constrained: optuna.Study) -> None:
    """The acquisition function learned that more MACs (within budget) pay off."""
    values = {b: [t.value for t in constrained.trials if t.user_attrs["batch"] == b] for b in (0, 2)}
    assert np.mean(values[2]) > np.mean(values[0])


@pytest.mark.parametrize(
    ("constraint", "metric"),
    [(max_macs(1000), "macs"), (max_params(100), "params")],
)
def test_unsatisfiable_constraints_name_the_smallest_value(constraint: Constraint, metric: str) -> None:
    smallest = getattr(minimum_cost(SPACE, 10), metric)
    with pytest.raises(ConfigError) as info:
        make_sampler(constraints=[max_params(1e9), constraint])
    assert info.value.field == f"max_{metric}"
    assert f"smallest achievable {metric} is {smallest:,}" in str(info.value)
    # The bound is tight: a limit at the smallest value is accepted.
    make_sampler(constraints=[type(constraint)(metric, float(smallest))])


def test_unsatisfiable_study_file_writes_nothing(tmp_path: Path) -> None:
    from optnas.studies import parse_study, run_study

    config = parse_study({"study": {"kind": "jointnas"}, "constraints": {"max_macs": 10.0}})
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError, match="smallest achievable macs"):
        run_study(config, storage_url=f"sqlite:///{db}")
    assert not db.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"space": "digits"}, "space"),
        ({"num_classes": 0}, "num_classes"),
        ({"constraints": ["macs<=1e6"]}, "constraints"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"n_batches": -1}, "n_batches"),
        ({"pool_size": 2, "batch_size": 4}, "pool_size"),
        ({"final_batch_size": -1}, "final_batch_size"),
        ({"seed": -3}, "seed"),
        ({"seed": True}, "seed"),
        ({"early_stopping_tau": 1.5}, "early_stopping_tau"),
        ({"diversity": -0.1}, "diversity"),
        ({"wait_timeout": -1.0}, "wait_timeout"),
        ({"poll_interval": 0.0}, "poll_interval"),
        ({"space": SPACE.fix(**SPACE.to_params(SPACE.sample(1, 0)[0]))}, "space"),  # nothing left to search
    ],
)
def test_constructor_validates(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_sampler(**kwargs)
    assert info.value.field == field


def test_multi_objective_study_is_refused() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler())
    with pytest.raises(ConfigError, match="single-objective"):
        study.optimize(lambda t: (objective(t), 0.0), n_trials=1)


def _reversed_first_epoch(trial: optuna.Trial) -> float:
    """Epoch 1 ranks candidates in reverse; from epoch 2 on the ranking is the final one."""
    SPACE.suggest(trial)
    acc = synthetic_accuracy(trial.params)
    epochs = epoch_budget(trial) or EPOCHS
    for e in range(1, epochs + 1):
        trial.report(1.0 - acc if e == 1 else acc * e / EPOCHS, e)
    return acc * epochs / EPOCHS


def test_early_stopping_budget_is_stored_and_assigned() -> None:
    study = run(make_sampler(early_stopping_tau=0.8), 10, _reversed_first_epoch)
    # Kendall tau of batch 1's rankings: -1 at epoch 1, +1 from epoch 2: the budget is 2 epochs.
    assert study.user_attrs["early_stopping_epochs"] == 2
    by_batch = {t.number: (t.user_attrs["batch"], t.user_attrs["epoch_budget"]) for t in study.trials}
    assert [by_batch[n] for n in range(10)] == [(0, None)] * 4 + [(1, 2)] * 4 + [(2, None)] * 2
    # The objective trained later stage-1 trials to the budget, stage 2 to the full budget.
    assert [len(t.intermediate_values) for t in sorted(study.trials, key=lambda t: t.number)] == (
        [EPOCHS] * 4 + [2] * 4 + [EPOCHS] * 2
    )


def test_early_stopping_without_agreement_keeps_the_full_budget() -> None:
    def never_agrees(trial: optuna.Trial) -> float:
        SPACE.suggest(trial)
        acc = synthetic_accuracy(trial.params)
        for e in range(1, EPOCHS):
            trial.report(1.0 - acc, e)
        trial.report(acc, EPOCHS)
        return acc

    study = run(make_sampler(final_batch_size=0), 8, never_agrees)
    assert study.user_attrs["early_stopping_epochs"] is None
    assert all(t.user_attrs["epoch_budget"] is None for t in study.trials)


def test_same_seed_same_proposals_other_seed_differs(constrained: optuna.Study) -> None:
    again = run(make_sampler(constraints=CONSTRAINTS), 10)
    assert proposals(again) == proposals(constrained)
    assert [t.user_attrs["predicted_accuracy"] for t in again.trials] == [
        t.user_attrs["predicted_accuracy"] for t in constrained.trials
    ]
    other = run(make_sampler(constraints=CONSTRAINTS, seed=1, final_batch_size=0), 4)
    assert all(p not in proposals(constrained) for p in proposals(other))


def test_reseed_rng_does_not_change_the_plan() -> None:
    sampler = make_sampler(final_batch_size=0, n_batches=1)
    sampler.reseed_rng()
    assert proposals(run(sampler, 4)) == proposals(run(make_sampler(final_batch_size=0, n_batches=1), 4))


def test_seed_is_stored_and_checked_on_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize", sampler=make_sampler(n_batches=1))
    study.optimize(objective, n_trials=2)
    # A sampler without a seed resumes with the stored one and continues the same plan.
    resumed = optuna.load_study(study_name="s", storage=url, sampler=make_sampler(n_batches=1, seed=None))
    resumed.optimize(objective, n_trials=2)
    fresh = run(make_sampler(n_batches=1), 4)
    assert proposals(resumed) == proposals(fresh)
    with pytest.raises(ConfigError, match="was started with seed 0"):
        optuna.load_study(study_name="s", storage=url, sampler=make_sampler(n_batches=1, seed=7)).optimize(
            objective, n_trials=1
        )


def test_stage2_saves_the_predictor_it_used(tmp_path: Path) -> None:
    store = FileSystemArtifactStore(str(tmp_path))
    study = run(make_sampler(artifact_store=store), 10)
    final = [t for t in study.trials if t.user_attrs["stage"] == "stage2"]
    assert [t.number for t in final] == [8, 9]
    assert all(t.user_attrs["batch"] == 2 for t in final)
    meta = study.user_attrs["optnas:predictor"]
    assert meta["n_train"] == 8 and meta["space_fingerprint"] == SPACE.fingerprint()
    predictor = load_predictor(study, artifact_dir=tmp_path)
    predicted = predictor.predict(SPACE.to_columns([t.params for t in final]))
    np.testing.assert_allclose(predicted, [t.user_attrs["predicted_accuracy"] for t in final], rtol=1e-6)


def test_trials_after_the_plan_continue_with_predicted_batches() -> None:
    study = run(make_sampler(final_batch_size=1, n_batches=1), 6)
    layout = [(t.user_attrs["stage"], t.user_attrs["batch"]) for t in sorted(study.trials, key=lambda t: t.number)]
    assert layout == [("stage1", 0)] * 4 + [("stage2", 1), ("stage1", 2)]
    assert len({tuple(sorted(p.items())) for p in proposals(study)}) == 6  # nothing proposed twice


def test_enqueued_trials_keep_their_params_and_take_no_position() -> None:
    study = optuna.create_study(direction="maximize", sampler=make_sampler(final_batch_size=0, n_batches=1))
    fixed = SPACE.to_params(SPACE.sample(1, 42)[0])
    study.enqueue_trial(fixed)
    study.optimize(objective, n_trials=5)
    assert study.trials[0].params == fixed and "batch" not in study.trials[0].user_attrs
    assert [t.user_attrs["slot"] for t in study.trials[1:]] == [0, 1, 2, 3]


def test_a_trial_waits_for_lower_picks_only_never_for_a_training() -> None:
    """Asynchronous planning: a worker plans at once from the completed trials of the earlier
    batches, with every other taken candidate pending; it waits only while a lower-numbered trial
    of another worker is still picking (seconds), which is what keeps two picks apart.

    A queued retry is pending too: never proposed again, evaluated later with its own parameters.
    """
    sampler = make_sampler(final_batch_size=0, n_batches=2, wait_timeout=60.0, poll_interval=0.05)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    first = [study.ask() for _ in range(4)]
    for t in first:
        SPACE.suggest(t)
    for t in first[:3]:
        study.tell(t, synthetic_accuracy(t.params))
    # first[3] is still training in "another worker": batch 1 is planned without waiting for it.
    study._storage.set_trial_system_attr(first[3]._trial_id, "jointnas:worker", "elsewhere:1:1")
    early = study.ask()  # position 4: batch 1, slot 0
    SPACE.suggest(early)
    pick = study.trials[early.number].system_attrs["jointnas:pick"]
    assert pick["n_train"] == 3  # fitted on the three told trials of batch 0
    assert early.params != first[3].params  # the running candidate is pending, not proposed again

    # position 5 is picking in another worker (asked, nothing suggested yet): position 6 waits for it
    slow = study.ask()
    study._storage.set_trial_system_attr(slow._trial_id, "jointnas:worker", "elsewhere:2:2")
    late = study.ask()
    done = threading.Event()

    def plan() -> None:
        SPACE.suggest(late)
        done.set()

    thread = threading.Thread(target=plan)
    thread.start()
    assert not done.wait(1.0), "a trial did not wait for a lower trial that is still picking"
    SPACE.suggest(slow)  # position 5 picks (this thread is not its worker: nothing blocks it)
    assert done.wait(60.0), "a recorded pick did not release the waiting trial"
    thread.join()
    assert len({tuple(sorted(t.params.items())) for t in (*first, early, slow, late)}) == 7

    study.tell(first[3], state=TrialState.FAIL)
    RetryHeartbeatStaleTrialCallback()(study, study.trials[first[3].number])  # as a heartbeat failure would
    retry = study.trials[-1]
    assert retry.state == TrialState.WAITING and retry.params == first[3].params
    for t in (early, slow, late):
        study.tell(t, synthetic_accuracy(t.params))
    study.optimize(objective, n_trials=2)  # the retry first (popped), then the last slot of batch 1
    trials = study.trials
    assert trials[retry.number].state == TrialState.COMPLETE and trials[retry.number].params == first[3].params
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(t.system_attrs["jointnas:position"] for t in complete) == list(range(8))
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 8  # nothing evaluated twice


def test_one_worker_picks_exactly_fbnetv3_batches() -> None:
    """Slot by slot, a single worker's picks are the batch the planner makes in one call."""
    sampler = make_sampler(final_batch_size=0)
    study = run(sampler, 8)
    trials = sorted(study.trials, key=lambda t: t.number)
    space = sampler._space_now(study)
    assert space is not None
    cols, y, used = sampler._training_data(study, space, sampler._early_stopping(study, 1), before=1)
    assert [t.number for t in used] == [0, 1, 2, 3]
    batch = make_sampler(final_batch_size=0)._planner(space).plan(1, cols, y, seed=0)
    assert [space.to_params(np.asarray(c.row)) for c in batch.candidates] == [t.params for t in trials[4:]]


def test_picks_are_stored_in_the_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    storage = open_storage(url, heartbeat_interval=1)
    study = optuna.create_study(
        study_name="p", storage=storage, direction="maximize", sampler=make_sampler(final_batch_size=0)
    )
    study.optimize(objective, n_trials=8)
    attrs = study._storage.get_study_system_attrs(study._study_id)
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [c["values"] for c in attrs["jointnas:plan:0"]["candidates"]] == [t.params for t in trials[:4]]
    for t in trials:
        assert t.system_attrs["jointnas:pick"]["values"] == t.params
        assert t.system_attrs["jointnas:pick"]["macs"] == t.user_attrs["macs"]
    assert [t.system_attrs["jointnas:pick"]["n_train"] for t in trials[4:]] == [4] * 4
    assert attrs["jointnas:seed"] == 0
    assert study.user_attrs["optnas:space"] == SPACE.to_dict()
    assert study.user_attrs["optnas:num_classes"] == 10


def test_a_pick_depends_only_on_earlier_batches_and_the_taken_candidates() -> None:
    """Another worker picking slot 1 of batch 1 late (after batch 2 began) picks the same candidate."""
    study = run(make_sampler(final_batch_size=0), 10)  # batch 1 and two trials of batch 2
    trial = study.trials[5]
    late = make_sampler(final_batch_size=0)._pick(study, trial, 1)
    assert late is not None and late["n_train"] == 4
    assert late["candidates"][0]["values"] == trial.params
