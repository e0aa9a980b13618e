"""Nothing lost on Ctrl-C or a failed trial (DESIGN.md "Nothing lost", issue 14).

The real ``optnas run`` command on real SQLite files and tiny digits studies with real training:

* Ctrl-C (SIGINT) during a trial prints one line saying what becomes of the trial, exits 130,
  and the same command run again evaluates the interrupted candidate first; the resumed study
  has the same completed candidates, with the same accuracies, as an uninterrupted run
  (RandAugment's grid and JointNAS's plan, stage 2 included).
* A trial whose objective raises is retried a bounded number of times with the same
  parameters, then failed for good with a log line; failed trials never count towards the
  target.

The interrupted run is ``optnas.cli.main`` in a process whose trainer waits, at one chosen trial,
for the signal (so that it arrives during that trial's training, not between trials); the
reference and resumed runs are the plain ``optnas`` console script.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _harness import env, jointnas_toml, load_trials
from optuna.trial import FrozenTrial, TrialState

OPTNAS = str(Path(sys.executable).with_name("optnas"))

RANDAUGMENT = """
[study]
kind = "randaugment"
name = "r"
seed = 0

[dataset]
name = "digits"
subset = 120

[space]
preset = "digits"

[augment]
n = [1, 2]
m = [5, 9]
prune = false

[augment.recipe]
epochs = 1

[train]
num_threads = 1
"""

JOINTNAS = jointnas_toml(
    name="j", subset=120, batch=3, n_batches=2, final=2, pool_size=64, epochs=2, train_extra="num_threads = 1\n"
)

# argv: marker file, training to stop in (0-based: the trial of that number, as every candidate of
# these studies is trained), then the optnas arguments. That training announces itself in the marker
# and waits for Ctrl-C; everything else is the real command.
# Both stopping scripts first restore Python's Ctrl-C handler: a shell that starts a job in the background
# without job control (``cmd &`` in a script, as CI launchers may) makes it ignore SIGINT, and Python keeps
# an inherited SIG_IGN; the tests are about what an interactive Ctrl-C does.
STOPPING = r"""
import itertools, os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import optnas.train

marker, stop_at = sys.argv[1], int(sys.argv[2])
real = optnas.train.train_and_evaluate
calls = itertools.count()

def train_and_evaluate(*args, **kwargs):
    if next(calls) == stop_at:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)
    return real(*args, **kwargs)

optnas.train.train_and_evaluate = train_and_evaluate
from optnas.cli import main
sys.exit(main(sys.argv[3:]))
"""

# The same, but the signal arrives while the JointNAS sampler plans batch 1 (inside ``study.ask``, before
# the trial has any parameter): argv: marker file, then the optnas arguments.
STOPPING_IN_PLAN = r"""
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from optnas.samplers import _jointnas

marker = sys.argv[1]
real = _jointnas.JointNASSampler._pick

def _pick(self, study, trial, t):
    if t == 1:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)
    return real(self, study, trial, t)

_jointnas.JointNASSampler._pick = _pick
from optnas.cli import main
sys.exit(main(sys.argv[2:]))
"""

# argv: trainings (0-based; the trial numbers here) that raise, then the optnas arguments.
RAISING = r"""
import itertools, sys
import optnas.train

failing = {int(n) for n in sys.argv[1].split(",") if n}
real = optnas.train.train_and_evaluate
calls = itertools.count()

def train_and_evaluate(*args, **kwargs):
    number = next(calls)
    if number in failing:
        raise RuntimeError(f"simulated out of memory in trial {number}")
    return real(*args, **kwargs)

optnas.train.train_and_evaluate = train_and_evaluate
from optnas.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout, check=False)


def _trials(db: Path, name: str) -> list[FrozenTrial]:
    return load_trials(f"sqlite:///{db}", name)


def _results(trials: list[FrozenTrial]) -> dict[tuple[tuple[str, Any], ...], float]:
    """Completed candidate -> accuracy."""
    out = {}
    for t in trials:
        if t.state == TrialState.COMPLETE:
            key = tuple(sorted(t.params.items()))
            assert key not in out, f"candidate evaluated twice: {key}"
            out[key] = float(t.value or 0.0)
    return out


def _study(tmp: Path, text: str) -> Path:
    path = tmp / "study.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[tuple[tuple[str, Any], ...], float]]:
    """Completed candidates of uninterrupted runs of both studies (the plain console script)."""
    out = {}
    for name, text in (("r", RANDAUGMENT), ("j", JOINTNAS)):
        tmp = tmp_path_factory.mktemp(f"reference-{name}")
        proc = _run([OPTNAS, "run", str(_study(tmp, text)), "--storage", "sqlite:///ref.db"], tmp)
        assert proc.returncode == 0, proc.stderr
        trials = _trials(tmp / "ref.db", name)
        assert all(t.state == TrialState.COMPLETE for t in trials)
        out[name] = _results(trials)
    return out


def _interrupt(tmp: Path, study: Path, stop_at: int, in_plan: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the study, press Ctrl-C while trial ``stop_at`` trains (or is planned), return the finished process."""
    (tmp / "stopping.py").write_text(STOPPING_IN_PLAN if in_plan else STOPPING)
    marker = tmp / "training"
    args = [sys.executable, str(tmp / "stopping.py"), str(marker)] + ([] if in_plan else [str(stop_at)])
    args += ["run", str(study), "--storage", "sqlite:///s.db"]
    proc = subprocess.Popen(args, cwd=tmp, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"trial {stop_at} never started training\n{out}\n{err}")
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.parametrize(
    ("name", "text", "stop_at", "in_plan"),
    [("r", RANDAUGMENT, 2, False), ("j", JOINTNAS, 4, False), ("j", JOINTNAS, 3, True)],
    ids=["randaugment", "jointnas", "jointnas-while-planning"],
)
def test_ctrl_c_requeues_the_trial_and_the_rerun_equals_an_uninterrupted_run(
    name: str, text: str, stop_at: int, in_plan: bool, tmp_path: Path, references: dict[str, dict[Any, float]]
) -> None:
    study = _study(tmp_path, text)
    proc = _interrupt(tmp_path, study, stop_at, in_plan)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"optnas: interrupted: trial {stop_at} was stopped and is queued again as trial"), (
        proc.stderr
    )
    trials = _trials(tmp_path / "s.db", name)
    stopped = trials[stop_at]
    assert stopped.state == TrialState.FAIL
    (retry,) = [t for t in trials if t.state == TrialState.WAITING]
    assert retry.params == stopped.params and retry.system_attrs["failed_trial"] == stop_at
    assert bool(stopped.params) != in_plan  # stopped in training (its candidate chosen) or while planning

    again = _run([OPTNAS, "run", str(study), "--storage", "sqlite:///s.db"], tmp_path)
    assert again.returncode == 0, again.stderr
    trials = _trials(tmp_path / "s.db", name)
    done = _results(trials)
    assert done == references[name]  # same candidates, same accuracies: nothing lost, nothing extra
    redone = trials[retry.number]
    assert redone.state == TrialState.COMPLETE and (in_plan or redone.params == stopped.params)
    # The interrupted trial is the only failure, and it did not count: the study has its full plan.
    assert [t.number for t in trials if t.state == TrialState.FAIL] == [stop_at]
    if name == "j":
        assert redone.system_attrs["jointnas:position"] == stopped.system_attrs["jointnas:position"]


def test_failed_trial_is_retried_then_failed_for_good(tmp_path: Path, references: dict[str, dict[Any, float]]) -> None:
    """Trial 1 raises once (its retry succeeds); trial 3's candidate raises every time (dropped)."""
    study = _study(tmp_path, RANDAUGMENT)
    (tmp_path / "raising.py").write_text(RAISING)
    # Trial 1 fails; its retry (trial 2) succeeds. Trial 4's candidate fails in trials 4, 5, 6, 7.
    cmd = [sys.executable, str(tmp_path / "raising.py"), "1,4,5,6,7", "run", str(study), "--storage", "sqlite:///f.db"]
    proc = _run(cmd, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    log = proc.stdout
    assert "trial    1 [-] failed: RuntimeError: simulated out of memory in trial 1; queued again as trial 2" in log
    assert "(retry 1 of 3)" in log
    assert (
        "trial    7 [-] failed for good: RuntimeError: simulated out of memory in trial 7; its candidate failed "
        "4 times (trials 4, 5, 6, 7) and is dropped" in log
    )
    trials = _trials(tmp_path / "f.db", "r")
    assert trials[2].params == trials[1].params and trials[2].state == TrialState.COMPLETE
    assert {trials[n].params["N"] for n in (4, 5, 6, 7)} == {trials[4].params["N"]}
    assert [t.number for t in trials if t.state == TrialState.FAIL] == [1, 4, 5, 6, 7]
    assert trials[1].user_attrs["error"] == "RuntimeError: simulated out of memory in trial 1"
    # Failures never count, and a grid point failed for good is not replaced by a duplicate: the
    # run ends with the other three grid points, as the uninterrupted run has them.
    assert "optnas: every grid point has been tried; 3 finished, the rest failed for good" in log
    done = _results(trials)
    assert len(done) == 3 and all(references["r"][k] == v for k, v in done.items())
    assert tuple(sorted(trials[4].params.items())) not in done
