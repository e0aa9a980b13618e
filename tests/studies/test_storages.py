"""MariaDB and Optuna's Redis journal as study storage, tested as PostgreSQL is (issue 14).

For each server: a JointNAS study run to its target, and a worker SIGKILLed inside a trial whose
candidate is evaluated again, with the same parameters, by the worker started after it (the plan
completed once, nothing skipped, nothing evaluated twice). MariaDB detects the dead worker by
Optuna's heartbeat; the journal has no heartbeat, so the runner fails and retries the trial of a
dead worker on its own host (:func:`optnas.studies.open_storage`).

Every test uses its own database (MariaDB) or key prefix (Redis) and removes it afterwards. A test
skips, saying why, when its server is not reachable; ``.ci/test`` starts both servers and sets
``OPTNAS_TEST_MYSQL_URL`` / ``OPTNAS_TEST_REDIS_URL``.

As in ``test_jointnas_runs.py``, each worker is the real ``optnas.studies.run_study`` loop with the
objective swapped for a fast one computed from the exact cost model.
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
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from optnas.studies import open_storage

BATCH, N_BATCHES, FINAL = 2, 2, 1
TARGET = BATCH * N_BATCHES + FINAL

STUDY_FILE = f"""
[study]
kind = "jointnas"
name = "storages"
seed = 0

[dataset]
name = "digits"
subset = 100

[space]
preset = "digits"

[constraints]
max_macs = 1.0e6

[sampler]
batch_size = {BATCH}
n_batches = {N_BATCHES}
final_batch_size = {FINAL}
pool_size = 64
poll_interval = 0.2

[sampler.predictor]
hidden = 16
embedding = 8
head_hidden = 8
pretrain_samples = 64
pretrain_steps = 20
fit_steps = 20

[sampler.ga]
population = 8
n_best = 2
n_random = 6
max_generations = 3
init_pool = 64

[train]
epochs = 2
"""

# argv: study file, storage URL, study name, position to hang in (-1: none), marker file.
WORKER = r"""
import math, os, sys, time
from optnas.cost import count
from optnas.studies import _runner, load_study_file

study_file, storage, name, hang, marker = sys.argv[1:6]

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
        for e in (1, 2):
            trial.report(acc * e / 2, e)
        return acc

    return objective

_runner.make_objective = make_objective  # everything else is the real `optnas run` loop
_runner.run_study(load_study_file(study_file), storage_url=storage, study_name=name, heartbeat_interval=1)
"""


def _mysql_url() -> Iterator[str]:
    """A fresh MariaDB database for one test, dropped afterwards."""
    base = os.environ.get("OPTNAS_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
    try:
        import pymysql  # noqa: F401
        import sqlalchemy as sa
    except ImportError as exc:
        pytest.skip(f"pymysql is not installed (the dev extra has it): {exc}")
    server = base.rsplit("/", 1)[0]
    try:
        engine = sa.create_engine(f"{server}/", connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"no MariaDB/MySQL server reachable at {server}: {str(exc).splitlines()[0]}")
    name = f"optnas_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield f"{server}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()


def _redis_url() -> Iterator[str]:
    """A fresh key prefix on the Redis server for one test, its keys deleted afterwards."""
    base = os.environ.get("OPTNAS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    try:
        import redis
    except ImportError as exc:
        pytest.skip(f"redis is not installed (the dev extra has it): {exc}")
    client = redis.Redis.from_url(base, socket_connect_timeout=5)
    try:
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Redis server reachable at {base}: {str(exc).splitlines()[0]}")
    prefix = f"optnas-test-{uuid.uuid4().hex[:12]}"
    try:
        yield f"{base}?prefix={prefix}"
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(params=["mariadb", "redis"])
def storage_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from (_mysql_url() if request.param == "mariadb" else _redis_url())


class Workers:
    """Worker processes of one study, started from ``tmp``."""

    def __init__(self, tmp: Path, storage: str, name: str) -> None:
        self.tmp, self.storage, self.name = tmp, storage, name
        (tmp / "study.toml").write_text(STUDY_FILE)
        (tmp / "worker.py").write_text(WORKER)
        self.marker = tmp / "hanging"
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, hang: int = -1) -> None:
        log = open(self.tmp / f"worker{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
        args = [str(self.tmp / "study.toml"), self.storage, self.name, str(hang), str(self.marker)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPTNAS_GRACE_PERIOD": "3", "NO_ALBUMENTATIONS_UPDATE": "1"}
        self.procs.append(
            subprocess.Popen(
                [sys.executable, str(self.tmp / "worker.py"), *args],
                cwd=self.tmp,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def kill_hanging(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if time.monotonic() > deadline or all(p.poll() is not None for p in self.procs):
                self.stop()
                pytest.fail(f"no worker reached the hanging trial\n{self.logs()}")
            time.sleep(0.1)
        pid = int(self.marker.read_text())
        os.kill(pid, signal.SIGKILL)
        next(p for p in self.procs if p.pid == pid).wait(timeout=30)  # reaped: its pid is gone
        return pid

    def wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        for p in self.procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(f"a worker did not finish\n{self.logs()}")
        assert all(p.returncode in (0, -signal.SIGKILL) for p in self.procs), self.logs()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("worker*.log")))


def _trials(url: str, name: str) -> list[FrozenTrial]:
    return optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()


def _check_plan_completed_once(trials: list[FrozenTrial]) -> None:
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    counts = Counter(int(t.system_attrs["jointnas:position"]) for t in complete)
    assert sorted(counts) == list(range(TARGET)) and set(counts.values()) == {1}, counts
    assert len({tuple(sorted(t.params.items())) for t in complete}) == TARGET


@pytest.mark.slow
def test_study_run_and_killed_worker_retried(storage_url: str, tmp_path: Path) -> None:
    name = f"storages-{uuid.uuid4().hex[:8]}"
    workers = Workers(tmp_path, storage_url, name)
    try:
        workers.start(hang=2)  # batch 2 of stage 1, its first slot
        pid = workers.kill_hanging()
        workers.start()  # the next worker finds the dead trial and evaluates its candidate again
        workers.wait()
    finally:
        workers.stop()
    trials = _trials(storage_url, name)
    _check_plan_completed_once(trials)
    killed = [t for t in trials if t.system_attrs.get("optnas:worker", "").endswith(f":{pid}")]
    killed = [t for t in killed if t.state == TrialState.FAIL]
    fails = [t for t in trials if t.state == TrialState.FAIL]
    detail = [(t.number, t.system_attrs.get("failed_trial"), t.user_attrs.get("error")) for t in fails]
    assert len(fails) == 1, f"a phantom failure besides the dead worker's trial: {detail}"
    assert len(killed) == 1 and killed[0].params, [(t.number, t.state) for t in trials]
    retried = [t for t in trials if t.state == TrialState.COMPLETE and t.params == killed[0].params]
    assert len(retried) == 1, detail
    with contextlib.suppress(Exception):
        optuna.delete_study(study_name=name, storage=open_storage(storage_url))
