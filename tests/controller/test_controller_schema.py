"""The decision schema: AutoAugment's 30 decisions and the Decision/DecisionSchema contracts."""

from __future__ import annotations

import optuna
import pytest

from optnas import ConfigError
from optnas.controller import AUTOAUGMENT_OPS, Decision, DecisionSchema, autoaugment_schema


def test_autoaugment_schema_layout() -> None:
    schema = autoaugment_schema()
    assert len(schema) == 30
    assert len(AUTOAUGMENT_OPS) == 16 and len(set(AUTOAUGMENT_OPS)) == 16
    expected = []
    for i in range(5):
        for j in range(2):
            expected += [
                (f"sp{i}_op{j}_type", AUTOAUGMENT_OPS),
                (f"sp{i}_op{j}_prob", tuple(range(11))),
                (f"sp{i}_op{j}_mag", tuple(range(10))),
            ]
    assert [(d.name, d.choices) for d in schema] == expected
    assert schema.names[:4] == ("sp0_op0_type", "sp0_op0_prob", "sp0_op0_mag", "sp0_op1_type")
    assert schema.num_choices == (16, 11, 10) * 10
    assert AUTOAUGMENT_OPS[0] == "ShearX" and AUTOAUGMENT_OPS[-1] == "SamplePairing"


def test_schema_matches_suggest_policy() -> None:
    augment = pytest.importorskip("optnas.augment", reason="optnas.augment not written yet")
    if not hasattr(augment, "suggest_policy"):
        pytest.skip("optnas.augment.suggest_policy not written yet")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    augment.suggest_policy(trial)
    suggested = dict(study._storage.get_trial(trial._trial_id).distributions)
    assert list(suggested) == list(autoaugment_schema().names)
    assert suggested == autoaugment_schema().distributions()


def test_values_and_distributions() -> None:
    schema = autoaugment_schema()
    actions = [k % n for k, n in enumerate(schema.num_choices)]
    values = schema.values(actions)
    assert values["sp0_op0_type"] == "ShearX"
    assert values["sp0_op0_prob"] == 1
    assert values["sp0_op0_mag"] == 2
    assert values["sp0_op1_type"] == "TranslateY"
    dist = schema.distributions()["sp4_op1_mag"]
    assert dist == optuna.distributions.CategoricalDistribution(tuple(range(10)))
    with pytest.raises(ConfigError, match="sp0_op0_type"):
        schema.values([16, *actions[1:]])
    with pytest.raises(ConfigError, match="actions"):
        schema.values(actions[:-1])


def test_fingerprint_is_stable_and_discriminating() -> None:
    assert autoaugment_schema().fingerprint == autoaugment_schema().fingerprint
    a = DecisionSchema((Decision("x", (1, 2)),))
    assert a.fingerprint != DecisionSchema((Decision("x", (1, 3)),)).fingerprint
    assert a.fingerprint != DecisionSchema((Decision("y", (1, 2)),)).fingerprint
    # 1 and 1.0 compare equal in Python but are different categorical choices.
    assert a.fingerprint != DecisionSchema((Decision("x", (1.0, 2)),)).fingerprint


@pytest.mark.parametrize(
    ("name", "choices", "field"),
    [
        ("", (1, 2), "Decision.name"),
        ("x", (), "x.choices"),
        ("x", [1, 2], "x.choices"),
        ("x", (1, [2]), "x.choices"),
        ("x", (1, 1), "x.choices"),
    ],
)
def test_decision_validation(name: str, choices: object, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Decision(name, choices)  # type: ignore[arg-type]
    assert info.value.field == field


def test_schema_validation() -> None:
    with pytest.raises(ConfigError, match="decisions"):
        DecisionSchema(())
    with pytest.raises(ConfigError, match="unique"):
        DecisionSchema((Decision("x", (1,)), Decision("x", (2,))))
    with pytest.raises(ConfigError, match="Decision"):
        DecisionSchema.of([("x", (1, 2))])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="sequence"):
        DecisionSchema.of("x")  # type: ignore[arg-type]
    schema = DecisionSchema.of([Decision("x", (1, 2))])
    assert DecisionSchema.of(schema) is schema
