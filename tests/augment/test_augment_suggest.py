"""The AutoAugment search space as Optuna parameters: names, order, choices, inverse."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import re
from collections.abc import Sequence
from typing import Any

import optuna
import pytest

from optnas._errors import ConfigError
from optnas.augment import OP_NAMES, Policy, policy_from_params, suggest_policy

EXPECTED_OP_NAMES = (
    "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "AutoContrast", "Invert",
    "Equalize", "Solarize", "Posterize", "Contrast", "Color", "Brightness", "Sharpness",
    "Cutout", "SamplePairing",
)  # fmt: skip


class _RecordingTrial:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        self.calls.append((name, tuple(choices)))
        return choices[len(self.calls) % len(choices)]


def test_op_names_in_paper_order() -> None:
    assert OP_NAMES == EXPECTED_OP_NAMES


def test_suggest_order_names_and_choices() -> None:
    trial = _RecordingTrial()
    suggest_policy(trial, n_subpolicies=5)  # type: ignore[arg-type]
    expected = []
    for i in range(5):
        for j in range(2):
            expected += [
                (f"sp{i}_op{j}_type", EXPECTED_OP_NAMES),
                (f"sp{i}_op{j}_prob", tuple(range(11))),
                (f"sp{i}_op{j}_mag", tuple(range(10))),
            ]
    assert trial.calls == expected


def test_suggest_with_optuna_and_invert_params() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    policies: list[Policy] = []
    for _ in range(5):
        trial = study.ask()
        policies.append(suggest_policy(trial))
        study.tell(trial, 0.0)
    for frozen, policy in zip(study.trials, policies, strict=True):
        assert len(frozen.params) == 30
        assert policy_from_params(frozen.params) == policy
        assert len(policy) == 5 and all(len(sp.ops) == 2 for sp in policy.subpolicies)
        for i, sp in enumerate(policy.subpolicies):
            for j, op in enumerate(sp.ops):
                assert op.name == frozen.params[f"sp{i}_op{j}_type"]
                assert op.probability == frozen.params[f"sp{i}_op{j}_prob"] / 10
    assert len({p.to_json() for p in policies}) == 5


def test_policy_from_params_values() -> None:
    params = {"sp0_op0_type": "Rotate", "sp0_op0_prob": 7, "sp0_op0_mag": 3,
              "sp0_op1_type": "Invert", "sp0_op1_prob": 10, "sp0_op1_mag": 4}  # fmt: skip
    params["lr"] = 0.1  # unrelated parameters are ignored
    policy = policy_from_params(params)
    (sp,) = policy.subpolicies
    assert [(o.name, o.probability, o.magnitude_bin) for o in sp.ops] == [
        ("Rotate", 0.7, 3),
        ("Invert", 1.0, None),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sp0_op1_type": "Shear"}, "sp0_op1_type='Shear'"),
        ({"sp0_op0_prob": 11}, "sp0_op0_prob=11"),
        ({"sp0_op0_mag": -1}, "sp0_op0_mag=-1"),
        ({"sp0_op1_mag": None}, "sp0_op1_mag=None"),
    ],
)
def test_policy_from_params_errors(change: dict[str, Any], message: str) -> None:
    params = {"sp0_op0_type": "Rotate", "sp0_op0_prob": 7, "sp0_op0_mag": 3,
              "sp0_op1_type": "Invert", "sp0_op1_prob": 10, "sp0_op1_mag": 4}  # fmt: skip
    params.update(change)
    with pytest.raises(ConfigError, match=re.escape(message)):
        policy_from_params(params)
    with pytest.raises(ConfigError, match=re.escape("sp0_op0_type=None")):
        policy_from_params({})
