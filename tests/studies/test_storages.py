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
objective swapped for a fast one computed from the exact cost model (``_harness.Workers``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from _harness import Workers, check_plan_completed_once, jointnas_toml, load_trials
from optuna.trial import TrialState

from optnas.studies import open_storage

BATCH, N_BATCHES, FINAL = 2, 2, 1
TARGET = BATCH * N_BATCHES + FINAL

STUDY_FILE = jointnas_toml(
    name="storages",
    subset=100,
    batch=BATCH,
    n_batches=N_BATCHES,
    final=FINAL,
    pool_size=64,
    epochs=2,
    sampler_extra="poll_interval = 0.2\n",
)


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


@pytest.mark.slow
def test_study_run_and_killed_worker_retried(storage_url: str, tmp_path: Path) -> None:
    name = f"storages-{uuid.uuid4().hex[:8]}"
    workers = Workers(tmp_path, storage_url, name, study_file=STUDY_FILE, epochs=2, budgeted=False)
    try:
        workers.start(hang=2)  # batch 2 of stage 1, its first slot
        pid = workers.kill_hanging()
        workers.start()  # the next worker finds the dead trial and evaluates its candidate again
        workers.wait(timeout=180)
    finally:
        workers.stop()
    trials = load_trials(storage_url, name)
    check_plan_completed_once(trials, TARGET)
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
