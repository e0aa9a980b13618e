"""The shipped digits augmentation studies, end to end through ``run_study`` into SQLite."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import torch
from PIL import Image

from optnas.augment import Policy, policy_from_params
from optnas.samplers import PPOSampler
from optnas.samplers._ppo import ROLLOUT_KEY
from optnas.studies import StudyConfig, load_study_file, run_study
from optnas.studies._augment_kinds import M_PARAM, N_PARAM, POLICY_ATTR
from optnas.studies._policies import export_policy, final_policy
from optnas.studies._runner import load_data

optuna.logging.set_verbosity(optuna.logging.WARNING)
STUDIES = Path(__file__).resolve().parents[2] / "studies"
CHILD = "res8 stem_k3_s1_c8_hs ir_k3_e1_c8_hs ir_k3_e2_c16_s2_se_hs ir_k3_e2_c24_s2_hs head_c64_hs"
COMPLETE = optuna.trial.TrialState.COMPLETE


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _shrunk(name: str, **changes: Any) -> StudyConfig:
    """The shipped study file with a tiny budget: 200 training images, 1 epoch."""
    config = load_study_file(STUDIES / name)
    dataset = {**config.dataset, "subset": 200, "val_size": 100}
    return dataclasses.replace(config, dataset=dataset, train={**config.train, "epochs": 1}, **changes)


@pytest.mark.parametrize("name", ["autoaugment_cifar10.toml", "randaugment_cifar10.toml"])
def test_cifar_study_files_describe_reduced_cifar10(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (STUDIES.parent.parent / "shared" / "data" / "cifar10").is_dir():
        pytest.skip("the shared CIFAR-10 copy (../shared/data/cifar10 from the repository) is absent")
    monkeypatch.chdir(STUDIES.parent)  # the files' dataset root is relative to the repository
    config = load_study_file(STUDIES / name)
    assert config.kind == name.split("_")[0]
    assert config.dataset["subset"] == 4000
    assert Path(config.dataset["root"]) == (STUDIES.parent.parent / "shared" / "data" / "cifar10").resolve()


def test_autoaugment_digits_study(tmp_path: Path) -> None:
    config = _shrunk("autoaugment_digits.toml", sampler={"batch_size": 2})
    url = f"sqlite:///{tmp_path / 'aa.db'}"
    study = run_study(config, storage_url=url, n_trials=4, stream=io.StringIO())
    trials = study.get_trials(states=(COMPLETE,))
    assert len(trials) == 4
    assert study.user_attrs["optnas:kind"] == "autoaugment"
    for t in trials:
        assert sorted(t.params) == sorted(
            f"sp{i}_op{j}_{p}" for i in range(5) for j in range(2) for p in ("type", "prob", "mag")
        )
        assert Policy.from_json(t.user_attrs[POLICY_ATTR]) == policy_from_params(t.params)
        assert t.user_attrs["arch"] == CHILD
        assert t.intermediate_values == {1: t.value}
        assert t.system_attrs[ROLLOUT_KEY]["version"] in (0, 1)
    sampler = study.sampler
    assert isinstance(sampler, PPOSampler)
    assert sampler.state(study).update_count == 2  # 4 rollouts, batches of 2

    # A second run resumes the same study: two more trials, new proposals.
    again = run_study(config, storage_url=url, n_trials=6, stream=io.StringIO())
    done = again.get_trials(states=(COMPLETE,))
    assert len(done) == 6
    assert all(done[k].params != done[j].params for k in (4, 5) for j in range(4))

    policy = final_policy(again)
    assert len(policy) == 25
    # Export with the study's own dataset: the first column shows validation digits 0..4.
    album, doc, png = export_policy(again, tmp_path / "export", rows=5, samples=2)
    assert Policy.from_dict({k: v for k, v in json.loads(doc.read_text()).items() if k != "source"}) == policy
    assert album.stat().st_size > 0
    grid = np.asarray(Image.open(png))
    assert grid.shape == (5 * 66, 3 * 66, 3)  # 8 px digits enlarged 8x
    data = load_data(config)
    first = [int(np.flatnonzero(data.val_y == c)[0]) for c in range(5)]
    for row, index in enumerate(first):
        cell = np.repeat(np.repeat(data.val_x[index], 8, axis=0), 8, axis=1)
        np.testing.assert_array_equal(grid[row * 66 + 1 : row * 66 + 65, 1:65], cell)


def test_randaugment_digits_study_runs_the_grid_once(tmp_path: Path) -> None:
    config = _shrunk("randaugment_digits.toml")
    config = dataclasses.replace(config, augment={**config.augment, "n": [1, 2], "m": [5, 13]})
    study = run_study(config, storage_url=f"sqlite:///{tmp_path / 'ra.db'}", stream=io.StringIO())
    trials = study.get_trials(states=(COMPLETE,))
    points = sorted((t.params[N_PARAM], t.params[M_PARAM]) for t in trials)
    assert points == sorted(itertools.product([1, 2], [5, 13]))  # the target is the grid size
    for t in trials:
        assert t.user_attrs[POLICY_ATTR] == f"randaugment:{t.params[N_PARAM]},{t.params[M_PARAM]}"
        assert t.value is not None and 0.0 < t.value <= 1.0
