"""The OptunaHub package samplers/jointnas_sampler loads with optunahub and its example runs."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
import optunahub
import pytest

from optnas.samplers import JointNASSampler
from optnas.space import preset

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "samplers" / "jointnas_sampler"


def test_readme_signature() -> None:
    text = (PACKAGE / "README.md").read_text()
    # The documented constructor is the real one (names and defaults).
    documented = re.search(r"`JointNASSampler\(\*, (.*?)\)`", text, re.S)
    assert documented is not None
    params = inspect.signature(JointNASSampler).parameters
    expected = ", ".join(
        name if p.default is inspect.Parameter.empty else f"{name}={p.default!r}" for name, p in params.items()
    )
    assert " ".join(documented.group(1).split()) == expected


def test_load_local_module_reexports_the_sampler() -> None:
    module = optunahub.load_local_module(package="jointnas_sampler", registry_root=str(ROOT / "samplers"))
    assert module.__all__ == ["JointNASSampler"]
    assert module.JointNASSampler is JointNASSampler
    space = preset("digits")
    sampler = module.JointNASSampler(space=space, num_classes=10, batch_size=3, n_batches=1, pool_size=64, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(space.suggest(t)[0].resolution), 3)
    assert [t.user_attrs["slot"] for t in study.trials] == [0, 1, 2]


@pytest.mark.slow
def test_example_runs() -> None:
    """Both demos of example.py: optnas' JointSpace and a user's own torchvision-built space."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(PACKAGE / "example.py")],
        cwd=str(ROOT.parent),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    means = dict(re.findall(r"(space-filling batch 1|stage-2 batch): mean value ([\d.]+)", result.stdout))
    # The predictor-guided final batch beats the space-filling one (both fully trained).
    assert float(means["stage-2 batch"]) > float(means["space-filling batch 1"])
    assert all(int(m) <= 500000 for m in re.findall(r"largest MACs (\d+)", result.stdout))
    # The user's space: no proposal over its count_model parameter budget.
    found = re.search(r"largest candidate proposed: (\d+) params \(budget (\d+)\)", result.stdout)
    assert found is not None, result.stdout
    assert int(found.group(1)) <= int(found.group(2))
