"""Predictor reuse for new constraints (FBNetV3 Sec. 3.3): ``optnas.evolve`` and ``optnas evolve``.

One stage-1 study (synthetic, cost-model based accuracy) answers three MACs budgets without
training anything.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import TrialState

import optnas
from optnas.constraints import max_macs
from optnas.cost import count
from optnas.predictor import PredictorConfig
from optnas.samplers import JointNASSampler
from optnas.samplers._jointnas import epoch_budget
from optnas.space import preset

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = preset("digits")
BUDGETS = (2e5, 5e5, 1.2e6)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def objective(trial: optuna.Trial) -> float:
    arch, recipe = SPACE.suggest(trial)
    acc = 0.5 + 0.04 * math.log(count(arch, 10).macs / 1e5) - 0.02 * abs(math.log10(recipe.lr) + 1.5)
    epochs = epoch_budget(trial) or 4
    for e in range(1, epochs + 1):
        trial.report(acc * e / 4, e)
    return acc * epochs / 4


@pytest.fixture(scope="module")
def stage1(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, optuna.Study]:
    """A stage-1-only JointNAS study (two batches of 4, no stage 2) in a SQLite file."""
    torch.set_num_threads(1)
    url = f"sqlite:///{tmp_path_factory.mktemp('evolve') / 'study.db'}"
    sampler = JointNASSampler(
        space=SPACE,
        num_classes=10,
        batch_size=4,
        n_batches=2,
        final_batch_size=0,
        pool_size=128,
        seed=0,
        predictor_config=PredictorConfig(pretrain_samples=256, pretrain_steps=60, fit_steps=60),
    )
    study = optuna.create_study(study_name="stage1", storage=url, direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=8)
    return url, study


def test_evolve_meets_every_budget_without_training(stage1: tuple[str, optuna.Study]) -> None:
    _, study = stage1
    before = [(t.number, t.state) for t in study.get_trials()]
    best = []
    for budget in BUDGETS:
        found = optnas.evolve(study, constraints=[max_macs(budget)], top_k=3)
        assert len(found) == 3
        for c in found:
            cost = count(c.arch, 10)
            assert (c.macs, c.params) == (cost.macs, cost.params)
            assert c.macs <= budget
            assert SPACE.decode_params(c.trial_params) == (c.arch, c.recipe)
        scores = [c.predicted_accuracy for c in found]
        assert scores == sorted(scores, reverse=True)
        best.append(scores[0])
    # A looser budget admits everything a tighter one does, and the predictor prefers more MACs.
    assert best[0] <= best[1] <= best[2]
    assert best[0] < best[2]
    # Nothing was trained or added to the study.
    assert [(t.number, t.state) for t in study.get_trials()] == before


def test_evolve_cli_enqueues_waiting_trials(stage1: tuple[str, optuna.Study]) -> None:
    url, study = stage1
    n_before = len(study.get_trials())
    cmd = [sys.executable, "-m", "optnas", "evolve", "--storage", url, "--study-name", "stage1"]
    cmd += ["--max-mflops", "0.5", "--top-k", "2", "--json", "--enqueue"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    assert len(found) == 2 and all(c["macs"] <= 5e5 for c in found)
    trials = optuna.load_study(study_name="stage1", storage=url).get_trials()
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(trials) == n_before + 2
    assert [t.system_attrs["fixed_params"] for t in waiting] == [c["params_dict"] for c in found]
    assert all(t.user_attrs["stage"] == "evolve" for t in waiting)


def test_evolve_cli_needs_a_budget(stage1: tuple[str, optuna.Study]) -> None:
    url, _ = stage1
    result = subprocess.run(
        [sys.executable, "-m", "optnas", "evolve", "--storage", url, "--study-name", "stage1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--max-mflops" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_evolve_rejects_an_unreachable_budget(stage1: tuple[str, optuna.Study]) -> None:
    _, study = stage1
    with pytest.raises(optnas.ConfigError, match="smallest achievable macs"):
        optnas.evolve(study, constraints=[max_macs(1e3)], top_k=2)


def test_evolve_reads_a_stored_predictor(stage1: tuple[str, optuna.Study], tmp_path: Path) -> None:
    """With a saved predictor artifact, evolve uses it (no refit) and gets the same candidates."""
    from optuna.artifacts import FileSystemArtifactStore

    from optnas.predictor import save_predictor
    from optnas.studies import load_predictor

    url, _ = stage1
    study = optuna.load_study(study_name="stage1", storage=url)
    refit = load_predictor(study)
    copy = optuna.create_study(direction="maximize")
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        copy.add_trial(t)
    for key, value in study.user_attrs.items():
        copy.set_user_attr(key, value)
    save_predictor(copy, refit, FileSystemArtifactStore(str(tmp_path)))
    a = optnas.evolve(study, constraints=[max_macs(5e5)], top_k=2)
    b = optnas.evolve(copy, constraints=[max_macs(5e5)], top_k=2, artifact_dir=tmp_path)
    assert [c.to_dict() for c in a] == [c.to_dict() for c in b]
