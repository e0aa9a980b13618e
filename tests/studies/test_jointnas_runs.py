"""JointNAS studies across real processes: SIGKILL + resume on SQLite, several workers on SQLite
and PostgreSQL (DESIGN.md invariants "Sampler state lives in storage" and "Many workers").

Each worker runs the real ``optnas.studies.run_study`` loop (heartbeats every second, Optuna's
stale-trial retry, the loop that drains the study to its target) on a digits study file; only the
objective is swapped for a fast one whose accuracy comes from the exact cost model, since training
is not the point here. A worker hangs in the trial at a chosen plan position and is killed with
SIGKILL while it runs that trial.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)

BATCH, N_BATCHES, FINAL = 3, 2, 2
TARGET = BATCH * N_BATCHES + FINAL  # the sampler's full plan: positions 0..7

STUDY_FILE = f"""
[study]
kind = "jointnas"
name = "runs"
seed = 0

[dataset]
name = "digits"
subset = 300

[space]
preset = "digits"

[constraints]
max_macs = 1.0e6

[sampler]
batch_size = {BATCH}
n_batches = {N_BATCHES}
final_batch_size = {FINAL}
pool_size = 128
poll_interval = 0.2

[sampler.predictor]
hidden = 32
embedding = 16
head_hidden = 16
pretrain_samples = 256
pretrain_steps = 60
fit_steps = 60

[sampler.ga]
population = 16
n_best = 4
n_random = 12
max_generations = 10
init_pool = 256

[train]
epochs = 3
"""

# argv: study file, storage URL, study name, position to hang in (-1: none), marker file, seconds per epoch.
WORKER = r"""
import math, os, sys, time
from optnas.cost import count
from optnas.samplers._jointnas import epoch_budget
from optnas.studies import _runner, load_study_file

study_file, storage, name, hang, marker, pause = sys.argv[1:7]

def make_objective(config, data):
    space = config.space

    def objective(trial):
        arch, recipe = space.suggest(trial)
        position = trial.study._storage.get_trial_system_attrs(trial._trial_id)["jointnas:position"]
        if position == int(hang) and not os.path.exists(marker):
            with open(marker + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.replace(marker + ".tmp", marker)
            time.sleep(600)
        acc = 0.5 + 0.04 * math.log(count(arch, data.num_classes).macs / 1e5) - 0.02 * abs(math.log10(recipe.lr) + 1.5)
        epochs = epoch_budget(trial) or 3
        for e in range(1, epochs + 1):
            time.sleep(float(pause))
            trial.report(acc * e / 3, e)
        return acc * epochs / 3

    return objective

_runner.make_objective = make_objective  # everything else is the real `optnas run` loop
_runner.run_study(load_study_file(study_file), storage_url=storage, study_name=name, heartbeat_interval=1)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPTNAS_GRACE_PERIOD": "3"}


class Workers:
    """Worker processes of one study, started from ``tmp`` (artifacts land there)."""

    def __init__(self, tmp: Path, storage: str, name: str) -> None:
        self.tmp, self.storage, self.name = tmp, storage, name
        (tmp / "study.toml").write_text(STUDY_FILE)
        (tmp / "worker.py").write_text(WORKER)
        self.marker = tmp / "hanging"
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, hang: int = -1, pause: float = 0.05) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
        args = [str(self.tmp / "study.toml"), self.storage, self.name, str(hang), str(self.marker), str(pause)]
        proc = subprocess.Popen(
            [sys.executable, str(self.tmp / "worker.py"), *args],
            cwd=self.tmp,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def kill_hanging(self, timeout: float = 120) -> int:
        """SIGKILL the worker that is hanging in its trial; returns its pid."""
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if time.monotonic() > deadline or all(p.poll() is not None for p in self.procs):
                self.stop()
                pytest.fail(f"no worker reached the hanging trial\n{self.logs()}")
            time.sleep(0.1)
        pid = int(self.marker.read_text())
        os.kill(pid, signal.SIGKILL)
        next(p for p in self.procs if p.pid == pid).wait(timeout=30)
        return pid

    def wait(self, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        for p in self.procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(f"a worker did not finish\n{self.logs()}")
        bad = [p.returncode for p in self.procs if p.returncode not in (0, -signal.SIGKILL)]
        assert not bad, self.logs()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("worker*.log")))


def _position(t: FrozenTrial) -> int:
    return int(t.system_attrs["jointnas:position"])


def _params_key(t: FrozenTrial) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(t.params.items()))


def _check_plan_completed_once(trials: list[FrozenTrial]) -> None:
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    counts = Counter(_position(t) for t in complete)
    assert sorted(counts) == list(range(TARGET)), counts  # no planned position skipped ...
    assert set(counts.values()) == {1}, counts  # ... and none evaluated twice
    assert len({_params_key(t) for t in complete}) == TARGET, _describe(trials)


def _describe(trials: list[FrozenTrial]) -> str:
    """One line per trial: number, state, position, batch/slot, attrs and a params digest."""
    lines = []
    for t in trials:
        attrs = {k: v for k, v in t.system_attrs.items() if k.startswith(("jointnas:worker", "failed"))}
        lines.append(
            f"{t.number} {t.state.name} pos={t.system_attrs.get('jointnas:position')} "
            f"b{t.user_attrs.get('batch')}/s{t.user_attrs.get('slot')} {attrs} "
            f"pred={t.user_attrs.get('predicted_accuracy')} params#{hash(_params_key(t)) % 10**6}"
        )
    return "\n".join(lines)


def _check_killed_trial_retried(trials: list[FrozenTrial], pid: int) -> FrozenTrial:
    """The trial the killed worker was running failed (heartbeat) and its candidate completed later."""
    hung = [t for t in trials if t.system_attrs.get("jointnas:worker", "").split(":")[1:2] == [str(pid)]]
    killed = [t for t in hung if t.state == TrialState.FAIL]
    assert len(killed) == 1, [(t.number, t.state) for t in hung]
    k = killed[0]
    assert k.params, "the killed trial had suggested its candidate"
    again = [t for t in trials if t.state == TrialState.COMPLETE and _position(t) == _position(k)]
    assert len(again) == 1 and again[0].number > k.number
    assert again[0].params == k.params
    # one failure per dead trial: no phantom FAIL (a retry that fails at once before the next one
    # completes the candidate)
    fails = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.number for t in fails] == [k.number], _describe(trials)
    return k


def _completed(url: str, name: str) -> list[FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[tuple[str, Any], ...]]:
    """Completed candidates of an uninterrupted single-worker run."""
    tmp = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{tmp / 'ref.db'}"
    workers = Workers(tmp, url, "runs")
    workers.start()
    workers.wait()
    trials = _completed(url, "runs")
    _check_plan_completed_once(trials)
    assert len(trials) == TARGET
    return {_params_key(t) for t in trials}


@pytest.mark.slow
def test_sigkill_and_resume_continues_the_plan(tmp_path: Path, reference: set[tuple[tuple[str, Any], ...]]) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    workers = Workers(tmp_path, url, "runs")
    workers.start(hang=4)  # batch 2 of stage 1, its second slot
    pid = workers.kill_hanging()
    before = {t.number for t in _completed(url, "runs")}
    done_before = sorted(_position(t) for t in _completed(url, "runs") if t.state == TrialState.COMPLETE)
    assert done_before == [0, 1, 2, 3]
    workers.start()  # same storage, same study file (seed): resume
    workers.wait()

    trials = _completed(url, "runs")
    _check_plan_completed_once(trials)
    _check_killed_trial_retried(trials, pid)
    # The restarted worker evaluated exactly the rest of the plan.
    after = sorted(_position(t) for t in trials if t.number not in before and t.state == TrialState.COMPLETE)
    assert after == [4, 5, 6, 7]
    # Same final set of candidates as the uninterrupted run.
    assert {_params_key(t) for t in trials if t.state == TrialState.COMPLETE} == reference


def _run_workers(tmp: Path, url: str, name: str, n_workers: int, hang: int) -> list[FrozenTrial]:
    workers = Workers(tmp, url, name)
    for _ in range(n_workers):
        workers.start(hang=hang, pause=0.2)
    try:
        pid = workers.kill_hanging()
        workers.wait()
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
