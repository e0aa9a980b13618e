"""Issue 15: ``evolve`` on a study without a stored predictor says, in one line, that it refits it.

The study is a JointNAS study created from Python (``optuna.create_study``, no artifact store),
with made-up accuracies instead of training.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

import optnas
from optnas.constraints import max_macs
from optnas.cost import count
from optnas.evolution import GAConfig
from optnas.space import preset

SPACE = preset("digits")


def _python_study(url: str, n: int = 6) -> optuna.Study:
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(direction="maximize", storage=url, study_name="py", sampler=sampler)
    study.set_user_attr("optnas:space", SPACE.to_dict())  # what JointNASSampler records

    def objective(trial: optuna.Trial) -> float:
        arch, _ = SPACE.suggest(trial)
        trial.set_user_attr("arch", str(arch))  # what JointNASObjective records
        trial.set_user_attr("params", count(arch, 10).params)
        return 0.5 + 0.01 * trial.number

    study.optimize(objective, n_trials=n)
    return study


SMALL_GA = GAConfig(population=4, n_best=2, n_random=2, max_generations=1, init_pool=64)


def test_evolve_says_it_refits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    study = _python_study(f"sqlite:///{tmp_path / 'py.db'}")
    with caplog.at_level(logging.WARNING, logger="optnas"):
        found = optnas.evolve(study, [max_macs(1e6)], top_k=1, ga_config=SMALL_GA, num_classes=10)
    assert len(found) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "optnas"]
    assert lines == [
        "optnas: study 'py' has no stored predictor artifact (no artifact store when it ran): refitting the "
        "predictor on its 6 completed trials (deterministic; no candidate is trained)"
    ]


def test_evolve_command_prints_the_refit_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'py.db'}"
    _python_study(url)
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    optnas_cmd = Path(sys.executable).with_name("optnas")
    done = subprocess.run(
        [str(optnas_cmd), "evolve", "--storage", url, "--study-name", "py", "--max-mflops", "1", "--top-k", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    refit = [line for line in done.stderr.splitlines() if "refitting the predictor" in line]
    assert refit == [
        "optnas: study 'py' has no stored predictor artifact (no artifact store when it ran): refitting the "
        "predictor on its 6 completed trials (deterministic; no candidate is trained)"
    ], done.stderr
