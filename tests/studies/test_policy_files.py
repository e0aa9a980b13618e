"""Issue 15: the ``policy.json`` that ``optnas export`` writes loads in ``optnas augment show``.

The studies are stored like the runner stores them (``open_study``), with objectives that suggest
exactly what the real ones do but return a made-up accuracy instead of training. Both commands run
as the real ``optnas`` executable in a subprocess, on the real exported file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from PIL import Image

from optnas import ConfigError
from optnas.augment import Policy
from optnas.augment._cli import load_policy_file, parse_randaugment
from optnas.studies import open_storage, open_study, parse_study

ROOT = Path(__file__).resolve().parents[2]
OPTNAS = Path(sys.executable).with_name("optnas")
COMMITTED = ROOT / "benchmarks" / "results" / "augment_search.export"


def _optnas(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(OPTNAS), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def _study(url: str, kind: str) -> optuna.Study:
    from optnas.augment import suggest_policy
    from optnas.studies._augment_kinds import M_PARAM, N_PARAM

    config = parse_study({"study": {"kind": kind, "name": kind}, "dataset": {"name": "digits", "subset": 100}})
    if kind == "autoaugment":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed=1)
    else:
        sampler = optuna.samplers.GridSampler({N_PARAM: [1, 2], M_PARAM: [5, 9]}, seed=1)
    study = open_study(config, open_storage(url), kind, sampler)

    def objective(trial: optuna.Trial) -> float:
        if kind == "autoaugment":
            suggest_policy(trial)
            return 0.5 + 0.01 * trial.number
        n, m = trial.suggest_categorical(N_PARAM, [1, 2]), trial.suggest_categorical(M_PARAM, [5, 9])
        return 0.5 + 0.1 * n + 0.01 * m

    study.optimize(objective, n_trials=6 if kind == "autoaugment" else 4)
    return study


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "image.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("kind", ["autoaugment", "randaugment"])
def test_exported_policy_loads_in_augment_show(kind: str, tmp_path: Path, image: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _study(url, kind)
    out = tmp_path / "best"
    done = _optnas("export", "--storage", url, "--study-name", kind, "--out", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "policy.json").read_text())
    assert document["source"]["study"] == kind  # the provenance is kept, and the reader accepts it
    grid = tmp_path / "grid.png"
    shown = _optnas("augment", "show", str(out / "policy.json"), "--image", str(image), "--out", str(grid))
    assert shown.returncode == 0, shown.stderr
    assert np.asarray(Image.open(grid)).shape == (4 * 26, 4 * 26, 3)


@pytest.mark.parametrize("kind", ["autoaugment", "randaugment"])
def test_committed_benchmark_export_loads(kind: str, tmp_path: Path, image: Path) -> None:
    policy = COMMITTED / kind / "policy.json"
    shown = _optnas("augment", "show", str(policy), "--image", str(image), "--out", str(tmp_path / "g.png"))
    assert shown.returncode == 0, shown.stderr


def test_policy_source_must_be_an_object() -> None:
    document = {"subpolicies": [[{"op": "Rotate", "prob": 0.5, "magnitude": 3}]], "source": "study x"}
    with pytest.raises(ConfigError, match=r"policy\.source="):
        Policy.from_dict(document)
    document["source"] = {"study": "x", "trials": [1]}
    assert len(Policy.from_dict(document)) == 1


def test_randaugment_document_errors(tmp_path: Path) -> None:
    base = {"format": "optnas.augment.randaugment", "version": 1, "n": 2, "m": 9, "num_magnitude_bins": 31}
    assert parse_randaugment(base) == (2, 9, 31)
    cases = [
        ({"n": "2"}, "policy.n='2': must be a non-negative integer, got a string"),
        ({"m": 31}, "policy.m=31: must be at most num_magnitude_bins - 1 = 30"),
        ({"extra": 1}, "policy.extra=1: unknown key"),
        ({"version": 2}, "policy.version=2: expected one of [1]"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigError) as info:
            parse_randaugment({**base, **change})
        assert str(info.value).startswith(message)
    path = tmp_path / "ra.json"
    path.write_text(json.dumps(base))
    assert load_policy_file(path) is not None
