"""The OptunaHub package samplers/ppo_sampler loads with optunahub and its example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
import optunahub
import pytest

from optnas.samplers import PPOSampler

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "samplers" / "ppo_sampler"


def test_load_local_module_reexports_the_sampler() -> None:
    module = optunahub.load_local_module(package="ppo_sampler", registry_root=str(ROOT / "samplers"))
    assert module.__all__ == ["PPOSampler"]
    assert module.PPOSampler is PPOSampler
    sampler = module.PPOSampler(seed=0, batch_size=2, hidden_size=4)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(t.suggest_categorical("sp0_op0_prob", tuple(range(11)))), 4)
    assert all("ppo:rollout" in t.system_attrs for t in study.trials)


@pytest.mark.slow
def test_example_runs() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(PACKAGE / "example.py")],
        cwd=str(ROOT.parent),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    first, last = map(float, re.findall(r"first 50 trials ([\d.]+), last 50 trials ([\d.]+)", result.stdout)[0])
    assert last > first + 0.1
