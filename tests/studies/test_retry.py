"""A retry does not inherit its dead predecessor's worker (the phantom failure of issue 14)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from optnas._keys import JOINTNAS_WORKER, WORKER_ATTR
from optnas.studies._retry import requeue
from optnas.studies._runner import _fail_dead_local_trials


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_popped_retry_is_not_taken_for_its_dead_predecessor(tmp_path: Path) -> None:
    """Between Optuna popping a retry (RUNNING) and its worker recording itself, another local
    worker scans for dead workers' trials. With the dead pid inherited, it failed the retry at
    once: two FAIL trials per killed worker. The retry now starts with no worker of its own."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'r.db'}", study_name="r")
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    storage = study._storage
    storage.set_trial_system_attr(trial._trial_id, WORKER_ATTR, dead)
    storage.set_trial_system_attr(trial._trial_id, JOINTNAS_WORKER, f"{dead}:1")
    storage.set_trial_system_attr(trial._trial_id, "jointnas:position", 5)

    stream = io.StringIO()
    _fail_dead_local_trials(study, 3, stream)  # the dead worker's own trial: failed and queued again
    assert study.trials[0].state == TrialState.FAIL and "queued again as trial 1" in stream.getvalue()
    retry = study.trials[1]
    assert retry.state == TrialState.WAITING and retry.params == trial.params
    assert retry.system_attrs["jointnas:position"] == 5  # the sampler's state is inherited ...
    assert WORKER_ATTR not in retry.system_attrs and JOINTNAS_WORKER not in retry.system_attrs  # ... the worker not

    assert storage.set_trial_state_values(retry._trial_id, state=TrialState.RUNNING)  # what a pop does
    _fail_dead_local_trials(study, 3, io.StringIO())
    assert study.trials[1].state == TrialState.RUNNING  # not a phantom failure
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.RUNNING]


def test_requeue_twice_queues_once(tmp_path: Path) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'q.db'}", study_name="q")
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    study.tell(trial, state=TrialState.FAIL)
    frozen = study.trials[0]
    assert requeue(study, frozen) == 1
    assert requeue(study, frozen) is None
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]
