"""Final policy assembly (AutoAugment Sec. 3), best RandAugment point, and policy export."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState
from PIL import Image

from optnas import ConfigError
from optnas.augment import OP_NAMES, Policy, SubPolicy, rand_augment
from optnas.studies._augment_kinds import M_PARAM, N_PARAM, attach_pairing_pool
from optnas.studies._policies import (
    RANDAUGMENT_FORMAT,
    best_randaugment,
    export_policy,
    final_policy,
    render_examples,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

PROB = CategoricalDistribution(tuple(range(11)))
MAG = CategoricalDistribution(tuple(range(10)))
TYPE = CategoricalDistribution(OP_NAMES)


def _random_params(rng: np.random.Generator) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i in range(5):
        for j in range(2):
            params[f"sp{i}_op{j}_type"] = OP_NAMES[int(rng.integers(len(OP_NAMES)))]
            params[f"sp{i}_op{j}_prob"] = int(rng.integers(11))
            params[f"sp{i}_op{j}_mag"] = int(rng.integers(10))
    return params


def _expected(params: dict[str, Any]) -> list[SubPolicy]:
    """The sub-policies of a parameter dict, decoded independently of policy_from_params."""
    return [
        SubPolicy.of(
            *(
                (params[f"sp{i}_op{j}_type"], params[f"sp{i}_op{j}_prob"] / 10, params[f"sp{i}_op{j}_mag"])
                for j in range(2)
            )
        )
        for i in range(5)
    ]


def _add(study: optuna.Study, params: dict[str, Any], value: float | None, state: TrialState) -> None:
    dists = {k: TYPE if k.endswith("type") else PROB if k.endswith("prob") else MAG for k in params}
    study.add_trial(
        optuna.trial.create_trial(
            params=params,
            distributions=dists,
            value=value if state == TrialState.COMPLETE else None,
            state=state,
        )
    )


VALUES = [0.50, 0.90, 0.70, 0.95, 0.60, 0.80, 0.85]


@pytest.fixture
def policy_study() -> tuple[optuna.Study, list[dict[str, Any]]]:
    rng = np.random.default_rng(42)
    study = optuna.create_study(direction="maximize")
    all_params = []
    for value in VALUES:
        params = _random_params(rng)
        all_params.append(params)
        _add(study, params, value, TrialState.COMPLETE)
    # Neither a pruned nor a failed trial takes part, whatever its parameters.
    _add(study, _random_params(rng), None, TrialState.PRUNED)
    _add(study, _random_params(rng), None, TrialState.FAIL)
    return study, all_params


def test_final_policy_concatenates_the_best_five(policy_study: tuple[optuna.Study, list[dict[str, Any]]]) -> None:
    study, params = policy_study
    policy = final_policy(study)
    assert len(policy) == 25
    order = [3, 1, 6, 5, 2]  # values 0.95, 0.90, 0.85, 0.80, 0.70
    expected = Policy(tuple(sp for k in order for sp in _expected(params[k])))
    assert policy == expected
    assert final_policy(study, top=2) == Policy(tuple(sp for k in order[:2] for sp in _expected(params[k])))
    assert len(final_policy(study, top=50)) == 5 * len(VALUES)  # fewer trials than top: all of them


def test_final_policy_ties_and_direction() -> None:
    rng = np.random.default_rng(1)
    study = optuna.create_study(direction="minimize")
    params = [_random_params(rng) for _ in range(3)]
    for p, v in zip(params, (0.3, 0.1, 0.1), strict=True):
        _add(study, p, v, TrialState.COMPLETE)
    # Minimizing: 0.1 first; equal values by trial number.
    assert final_policy(study, top=2) == Policy(tuple(_expected(params[1]) + _expected(params[2])))


def test_final_policy_errors() -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.raises(ConfigError, match="no completed trial"):
        final_policy(study)
    with pytest.raises(ConfigError) as info:
        final_policy(study, top=0)
    assert info.value.field == "top"
    study.add_trial(optuna.trial.create_trial(params={"x": 1}, distributions={"x": MAG}, value=1.0))
    with pytest.raises(ConfigError, match="sp0_op0_type"):
        final_policy(study)


def _grid_study(values: dict[tuple[int, int], float]) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    dn, dm = CategoricalDistribution((1, 2, 3)), CategoricalDistribution((5, 9, 13))
    for (n, m), v in values.items():
        study.add_trial(
            optuna.trial.create_trial(
                params={N_PARAM: n, M_PARAM: m}, distributions={N_PARAM: dn, M_PARAM: dm}, value=v
            )
        )
    return study


def test_best_randaugment() -> None:
    study = _grid_study({(1, 5): 0.5, (2, 13): 0.8, (3, 9): 0.7, (1, 9): 0.8})
    assert best_randaugment(study) == (2, 13)  # tie with (1, 9): the earlier trial
    with pytest.raises(ConfigError, match="no completed trial"):
        best_randaugment(optuna.create_study())


def _images(k: int = 3, size: int = 16) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (k, size, size, 3), dtype=np.uint8)


def _apply(pipeline: Any, images: np.ndarray, seed: int) -> list[np.ndarray]:
    attach_pairing_pool(pipeline, list(images))
    pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
    return [pipeline(image=im)["image"] for im in images for _ in range(4)]


def test_export_autoaugment(tmp_path: Path, policy_study: tuple[optuna.Study, list[dict[str, Any]]]) -> None:
    study, _ = policy_study
    images = _images()
    paths = export_policy(study, tmp_path / "out", images=images, samples=3, seed=5, kind="autoaugment")
    assert [p.name for p in paths] == ["albumentations.json", "policy.json", "examples.png"]
    expected = final_policy(study)
    document = json.loads(paths[1].read_text())
    assert document["source"] == {"study": study.study_name, "trials": [3, 1, 6, 5, 2]}
    assert Policy.from_dict(document) == expected  # the provenance is part of the format
    assert Policy.from_json(paths[1].read_text(), source=str(paths[1])) == expected
    loaded = A.load(str(paths[0]), data_format="json")
    outputs = _apply(loaded, images, seed=11)
    reference = _apply(expected.to_albumentations(), images, seed=11)
    for got, want in zip(outputs, reference, strict=True):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(o, images[i // 4]) for i, o in enumerate(outputs))  # it augments
    png = np.asarray(Image.open(paths[2]))
    # 16 px inputs are enlarged 4x to 64 px cells, 1 px white border around each cell.
    assert png.shape == (3 * 66, 4 * 66, 3)
    np.testing.assert_array_equal(png[1:65, 1:65], np.repeat(np.repeat(images[0], 4, axis=0), 4, axis=1))
    np.testing.assert_array_equal(png, render_examples(expected.to_albumentations(), images, samples=3, seed=5))


def test_export_randaugment(tmp_path: Path) -> None:
    study = _grid_study({(1, 5): 0.5, (3, 9): 0.9, (2, 13): 0.7})
    images = _images(2, 32)
    album, policy, png = export_policy(study, tmp_path, images=images, samples=2, kind="randaugment")
    assert json.loads(policy.read_text()) == {
        "format": RANDAUGMENT_FORMAT,
        "version": 1,
        "n": 3,
        "m": 9,
        "num_magnitude_bins": 31,
        "source": {"study": study.study_name, "trials": [1]},
    }
    outputs = _apply(A.load(str(album), data_format="json"), images, seed=3)
    reference = _apply(rand_augment(3, 9), images, seed=3)
    for got, want in zip(outputs, reference, strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.asarray(Image.open(png)).shape == (2 * 66, 3 * 66, 3)


def test_export_rejects_other_studies(tmp_path: Path) -> None:
    study = optuna.create_study()
    study.set_user_attr("optnas:kind", "jointnas")
    with pytest.raises(ConfigError, match="not an augmentation study"):
        export_policy(study, tmp_path)
    with pytest.raises(ConfigError, match="records no optnas kind"):  # no sniffing of parameter names
        export_policy(optuna.create_study(), tmp_path)
    with pytest.raises(ConfigError, match="is a jointnas study"):
        export_policy(study, tmp_path, kind="randaugment")


def test_export_falls_back_to_sample_photographs(tmp_path: Path) -> None:
    study = _grid_study({(1, 5): 0.5})
    study.set_user_attr("optnas:kind", "randaugment")
    study.set_user_attr("optnas:config", {"dataset": {"name": "imagefolder", "root": str(tmp_path / "absent")}})
    png = export_policy(study, tmp_path / "x", rows=2, samples=1)[2]
    assert np.asarray(Image.open(png)).shape == (2 * 98, 2 * 98, 3)  # 96 px photographs
