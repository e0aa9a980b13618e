"""PPOSampler with 3 worker processes on one PostgreSQL study, one of them killed mid-trial.

The storage is optnas's (heartbeats + RetryHeartbeatStaleTrialCallback): the killed worker's trial
is failed by a survivor and retried with the same decisions; no completed trial is lost and no
proposal is drawn twice. Needs ``OPTNAS_TEST_POSTGRES_URL`` (set by ``.ci/test``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optnas.samplers._ppo import ROLLOUT_KEY
from optnas.studies import open_storage

URL = os.environ.get("OPTNAS_TEST_POSTGRES_URL")

WORKER = """
import sys, time
import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from optnas.controller import DecisionSchema, autoaugment_schema
from optnas.samplers import PPOSampler
from optnas.studies import open_storage

url, name, total, hang, out = sys.argv[1:]
optuna.logging.set_verbosity(optuna.logging.WARNING)
schema = DecisionSchema(autoaugment_schema().decisions[:6])
storage = open_storage(url, heartbeat_interval=1, grace_period=3)
sampler = PPOSampler(seed=3, decisions=schema, batch_size=3, hidden_size=8, learning_rate=0.01)
study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
runs = [0]

def objective(trial):
    params = {d.name: trial.suggest_categorical(d.name, d.choices) for d in schema}
    runs[0] += 1
    if hang == "1" and runs[0] == 2:
        open(out + ".hanging", "w").write(str(trial.number))
        time.sleep(600)
    time.sleep(0.2)
    return sum(v == 0 for v in params.values()) / len(params)

study.optimize(objective, callbacks=[MaxTrialsCallback(int(total), states=(TrialState.COMPLETE,))])
# Drain like `optnas run`: stay while trials run elsewhere, so a dead worker's trial is failed by
# the heartbeat check and its retry (a WAITING trial) is run here.
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    optuna.storages.fail_stale_trials(study)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    if TrialState.WAITING in states:
        study.optimize(objective, n_trials=1)
    elif TrialState.RUNNING in states:
        time.sleep(0.5)
    else:
        break
"""


def _reachable() -> bool:
    if not URL:
        return False
    try:
        open_storage(URL, heartbeat_interval=1)
    except Exception:
        return False
    return True


pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not _reachable(), reason="no PostgreSQL server: set OPTNAS_TEST_POSTGRES_URL (.ci/test does)"),
]


def test_three_ppo_workers_on_postgres_survive_a_killed_worker(tmp_path: Path) -> None:
    assert URL is not None
    name = f"ppo-pg-{uuid.uuid4().hex[:8]}"
    storage = open_storage(URL, heartbeat_interval=1, grace_period=3)
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    total = 12
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, URL, name, str(total), "1" if i == 0 else "0", str(tmp_path / f"w{i}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    try:
        hanging = tmp_path / "w0.hanging"
        deadline = time.monotonic() + 120
        while not hanging.exists() or not hanging.read_text():
            assert procs[0].poll() is None, procs[0].communicate()[1]
            assert time.monotonic() < deadline, "worker 0 never reached its second trial"
            time.sleep(0.1)
        killed_number = int(hanging.read_text())
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=30)
        for p in procs[1:]:
            _, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
            assert "Traceback" not in err, err

        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        killed = next(t for t in trials if t.number == killed_number)
        assert killed.state == TrialState.FAIL  # failed by a survivor's heartbeat check
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed_number]
        assert retries, "the killed trial was not retried"
        assert any(r.state == TrialState.COMPLETE for r in retries)
        assert all(r.params == killed.params for r in retries)  # the same decisions, re-evaluated
        # The study reached its target and no completed trial was lost.
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        assert len(complete) >= total
        # No proposal was drawn twice, apart from the retry of the killed one.
        fresh = [t for t in trials if "failed_trial" not in t.system_attrs]
        drawn = [json.dumps(t.system_attrs[ROLLOUT_KEY]["actions"]) for t in fresh if ROLLOUT_KEY in t.system_attrs]
        assert len(drawn) == len(set(drawn)) == len(fresh)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        optuna.delete_study(study_name=name, storage=storage)
