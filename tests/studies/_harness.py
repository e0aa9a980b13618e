"""The real-process harness shared by the study tests (``test_jointnas_runs.py``, ``test_storages.py``,
``test_interrupt.py``, ``test_cli_errors.py``).

* :func:`jointnas_toml`: digits JointNAS study files (tiny predictor and GA);
* :class:`Workers`: worker processes that each run the real ``optnas.studies.run_study`` loop
  (heartbeats every second, Optuna's stale-trial retry, the loop that drains the study to its
  target) with only the objective swapped for a fast one whose accuracy comes from the exact cost
  model; a worker hangs in the trial at a chosen plan position so that it can be SIGKILLed there;
* trial-reading helpers: :func:`load_trials`, :func:`position`, :func:`params_key`,
  :func:`check_plan_completed_once`, :func:`describe`.

``tests/studies/conftest.py`` puts this folder on ``sys.path`` (pytest runs with
``--import-mode=importlib``), so a test imports it as ``from _harness import ...``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from optnas.studies import open_storage

#: ``[sampler.predictor]`` / ``[sampler.ga]`` of the smallest studies, and of the larger ones.
SMALL = {
    "predictor": "hidden = 16\nembedding = 8\nhead_hidden = 8\npretrain_samples = 64\npretrain_steps = 20\n"
    "fit_steps = 20",
    "ga": "population = 8\nn_best = 2\nn_random = 6\nmax_generations = 3\ninit_pool = 64",
}
LARGER = {
    "predictor": "hidden = 32\nembedding = 16\nhead_hidden = 16\npretrain_samples = 256\npretrain_steps = 60\n"
    "fit_steps = 60",
    "ga": "population = 16\nn_best = 4\nn_random = 12\nmax_generations = 10\ninit_pool = 256",
}


def jointnas_toml(
    *,
    name: str,
    subset: int,
    batch: int,
    n_batches: int,
    final: int,
    pool_size: int,
    epochs: int,
    sizes: dict[str, str] | None = None,
    sampler_extra: str = "",
    train_extra: str = "",
) -> str:
    """A digits JointNAS study file (``max_macs = 1e6``); ``sizes`` is :data:`SMALL` (default) or
    :data:`LARGER`; ``sampler_extra`` / ``train_extra`` are further lines of those sections."""
    sizes = SMALL if sizes is None else sizes
    sampler = f"batch_size = {batch}\nn_batches = {n_batches}\nfinal_batch_size = {final}\npool_size = {pool_size}\n"
    return f"""
[study]
kind = "jointnas"
name = "{name}"
seed = 0

[dataset]
name = "digits"
subset = {subset}

[space]
preset = "digits"

[constraints]
max_macs = 1.0e6

[sampler]
{sampler}{sampler_extra}
[sampler.predictor]
{sizes["predictor"]}

[sampler.ga]
{sizes["ga"]}

[train]
epochs = {epochs}
{train_extra}"""


# argv: study file, storage URL, study name, position to hang in (-1: none), marker file, seconds per
# epoch, epochs of a full run, 1 to train only the sampler's early-stopping budget of a trial.
WORKER = r"""
import math, os, sys, time
from optnas.cost import count
from optnas.samplers._jointnas import epoch_budget
from optnas.studies import _runner, load_study_file

study_file, storage, name, hang, marker, pause, full, budgeted = sys.argv[1:9]
pause, full = float(pause), int(full)

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
        epochs = (epoch_budget(trial) if budgeted == "1" else None) or full
        for e in range(1, epochs + 1):
            if pause > 0:
                time.sleep(pause)
            trial.report(acc * e / full, e)
        return acc * epochs / full

    return objective

_runner.make_objective = make_objective  # everything else is the real `optnas run` loop
_runner.run_study(load_study_file(study_file), storage_url=storage, study_name=name, heartbeat_interval=1)
"""


def env(**extra: str) -> dict[str, str]:
    """The environment of a test's subprocesses: single-threaded, albumentations offline."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1", **extra}


class Workers:
    """Worker processes of one study, started from ``tmp`` (artifacts and logs land there).

    Args:
        study_file: the study file's text.
        epochs: epochs of a full run (the objective reports ``acc * e / epochs``).
        budgeted: train only the sampler's early-stopping budget of a trial, as ``optnas run`` does.
    """

    def __init__(self, tmp: Path, storage: str, name: str, *, study_file: str, epochs: int, budgeted: bool) -> None:
        self.tmp, self.storage, self.name = tmp, storage, name
        self.epochs, self.budgeted = epochs, budgeted
        (tmp / "study.toml").write_text(study_file)
        (tmp / "worker.py").write_text(WORKER)
        self.marker = tmp / "hanging"
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, hang: int = -1, pause: float = 0.0) -> subprocess.Popen[bytes]:
        """Start a worker; it hangs in the trial at plan position ``hang``, ``pause`` seconds per epoch."""
        log = open(self.tmp / f"worker{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
        args = [str(self.tmp / "study.toml"), self.storage, self.name, str(hang), str(self.marker), str(pause)]
        args += [str(self.epochs), "1" if self.budgeted else "0"]
        proc = subprocess.Popen(
            [sys.executable, str(self.tmp / "worker.py"), *args],
            cwd=self.tmp,
            env=env(OPTNAS_GRACE_PERIOD="3"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def kill_hanging(self, timeout: float = 120) -> int:
        """SIGKILL the worker that is hanging in its trial; returns its pid (reaped: its pid is gone)."""
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

    def wait(self, timeout: float) -> None:
        """Every worker ends within ``timeout`` seconds, with status 0 (or killed by :meth:`kill_hanging`)."""
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


def load_trials(url: str, name: str) -> list[FrozenTrial]:
    """The study's trials, from any storage optnas opens (SQLite, PostgreSQL, MariaDB, Redis journal)."""
    storage: Any = url if url.startswith(("sqlite", "postgresql")) else open_storage(url)
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def position(t: FrozenTrial) -> int:
    return int(t.system_attrs["jointnas:position"])


def params_key(t: FrozenTrial) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(t.params.items()))


def describe(trials: list[FrozenTrial]) -> str:
    """One line per trial: number, state, position, batch/slot, attrs and a params digest."""
    lines = []
    for t in trials:
        attrs = {k: v for k, v in t.system_attrs.items() if k.startswith(("jointnas:worker", "failed"))}
        lines.append(
            f"{t.number} {t.state.name} pos={t.system_attrs.get('jointnas:position')} "
            f"b{t.user_attrs.get('batch')}/s{t.user_attrs.get('slot')} {attrs} "
            f"pred={t.user_attrs.get('predicted_accuracy')} params#{hash(params_key(t)) % 10**6}"
        )
    return "\n".join(lines)


def check_plan_completed_once(trials: list[FrozenTrial], target: int) -> None:
    """Every plan position ``0..target-1`` completed exactly once, each with its own candidate."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    counts = Counter(position(t) for t in complete)
    assert sorted(counts) == list(range(target)), counts  # no planned position skipped ...
    assert set(counts.values()) == {1}, counts  # ... and none evaluated twice
    assert len({params_key(t) for t in complete}) == target, describe(trials)
