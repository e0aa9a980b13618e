"""JointNAS studies across real processes: SIGKILL + resume on SQLite, several workers on SQLite
and PostgreSQL (DESIGN.md invariants "Sampler state lives in storage" and "Many workers").

Each worker runs the real ``optnas.studies.run_study`` loop (heartbeats every second, Optuna's
stale-trial retry, the loop that drains the study to its target) on a digits study file; only the
objective is swapped for a fast one whose accuracy comes from the exact cost model, since training
is not the point here. A worker hangs in the trial at a chosen plan position and is killed with
SIGKILL while it runs that trial (the harness: ``_harness.py``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from _harness import LARGER, Workers, check_plan_completed_once, describe, jointnas_toml, params_key, position
from optuna.trial import FrozenTrial, TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)

BATCH, N_BATCHES, FINAL = 3, 2, 2
TARGET = BATCH * N_BATCHES + FINAL  # the sampler's full plan: positions 0..7

STUDY_FILE = jointnas_toml(
    name="runs",
    subset=300,
    batch=BATCH,
    n_batches=N_BATCHES,
    final=FINAL,
    pool_size=128,
    epochs=3,
    sizes=LARGER,
    sampler_extra="poll_interval = 0.2\n",
)


def _workers(tmp: Path, url: str, name: str) -> Workers:
    """Workers that train each trial's early-stopping budget of 3 epochs."""
    return Workers(tmp, url, name, study_file=STUDY_FILE, epochs=3, budgeted=True)


def _check_plan_completed_once(trials: list[FrozenTrial]) -> None:
    check_plan_completed_once(trials, TARGET)


def _check_killed_trial_retried(trials: list[FrozenTrial], pid: int) -> FrozenTrial:
    """The trial the killed worker was running failed (heartbeat) and its candidate completed later."""
    hung = [t for t in trials if t.system_attrs.get("jointnas:worker", "").split(":")[1:2] == [str(pid)]]
    killed = [t for t in hung if t.state == TrialState.FAIL]
    assert len(killed) == 1, [(t.number, t.state) for t in hung]
    k = killed[0]
    assert k.params, "the killed trial had suggested its candidate"
    again = [t for t in trials if t.state == TrialState.COMPLETE and position(t) == position(k)]
    assert len(again) == 1 and again[0].number > k.number
    assert again[0].params == k.params
    # one failure per dead trial: no phantom FAIL (a retry that fails at once before the next one
    # completes the candidate)
    fails = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.number for t in fails] == [k.number], describe(trials)
    return k


def _completed(url: str, name: str) -> list[FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[tuple[str, Any], ...]]:
    """Completed candidates of an uninterrupted single-worker run."""
    tmp = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{tmp / 'ref.db'}"
    workers = _workers(tmp, url, "runs")
    workers.start(pause=0.05)
    workers.wait(timeout=150)
    trials = _completed(url, "runs")
    _check_plan_completed_once(trials)
    assert len(trials) == TARGET
    return {params_key(t) for t in trials}


@pytest.mark.slow
def test_sigkill_and_resume_continues_the_plan(tmp_path: Path, reference: set[tuple[tuple[str, Any], ...]]) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    workers = _workers(tmp_path, url, "runs")
    workers.start(hang=4, pause=0.05)  # batch 2 of stage 1, its second slot
    pid = workers.kill_hanging()
    before = {t.number for t in _completed(url, "runs")}
    done_before = sorted(position(t) for t in _completed(url, "runs") if t.state == TrialState.COMPLETE)
    assert done_before == [0, 1, 2, 3]
    workers.start(pause=0.05)  # same storage, same study file (seed): resume
    workers.wait(timeout=150)

    trials = _completed(url, "runs")
    _check_plan_completed_once(trials)
    _check_killed_trial_retried(trials, pid)
    # The restarted worker evaluated exactly the rest of the plan.
    after = sorted(position(t) for t in trials if t.number not in before and t.state == TrialState.COMPLETE)
    assert after == [4, 5, 6, 7]
    # Same final set of candidates as the uninterrupted run.
    assert {params_key(t) for t in trials if t.state == TrialState.COMPLETE} == reference


def _run_workers(tmp: Path, url: str, name: str, n_workers: int, hang: int) -> list[FrozenTrial]:
    workers = _workers(tmp, url, name)
    for _ in range(n_workers):
        workers.start(hang=hang, pause=0.2)
    try:
        pid = workers.kill_hanging()
        workers.wait(timeout=150)
    finally:
        workers.stop()
    trials = _completed(url, name)
    _check_plan_completed_once(trials)
    _check_killed_trial_retried(trials, pid)
    # No completed trial lost, and the study reached its target: every trial is accounted for.
    states = Counter(t.state for t in trials)
    assert states[TrialState.COMPLETE] == TARGET
    assert states[TrialState.RUNNING] == states[TrialState.WAITING] == 0
    return trials


@pytest.mark.slow
def test_two_sqlite_workers_survive_a_killed_worker(tmp_path: Path) -> None:
    # Position 1 (batch 0): the survivor plans batch 1 while the killed trial still runs (pending);
    # once the heartbeat fails it, its retry waits in the queue and the next free worker pops it.
    _run_workers(tmp_path, f"sqlite:///{tmp_path / 'two.db'}", "runs", 2, hang=1)


def _postgres_url() -> str:
    url = os.environ.get("OPTNAS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("OPTNAS_TEST_POSTGRES_URL is not set (.ci/test sets it when PostgreSQL runs on 127.0.0.1:5432)")
    try:
        optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"connect_timeout": 5}})
    except Exception as exc:
        pytest.skip(f"no PostgreSQL server reachable at {url}: {str(exc).splitlines()[0]}")
    return url


@pytest.mark.slow
@pytest.mark.postgres
def test_three_postgres_workers_survive_a_killed_worker(tmp_path: Path) -> None:
    url = _postgres_url()
    name = f"optnas-test-{uuid.uuid4().hex[:12]}"
    try:
        _run_workers(tmp_path, url, name, 3, hang=2)
    finally:
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=name, storage=url)
