"""``Recipe`` validation and serialization."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from optnas import ConfigError
from optnas.space import OPTIMIZERS, Recipe


def test_defaults_are_valid_and_documented_fields_exist() -> None:
    r = Recipe()
    assert r.optimizer in OPTIMIZERS
    assert [f.name for f in dataclasses.fields(Recipe)] == [
        "optimizer",
        "lr",
        "weight_decay",
        "momentum",
        "mixup_alpha",
        "dropout",
        "stochastic_depth",
        "ema",
        "ema_decay",
        "label_smoothing",
        "epochs",
        "batch_size",
        "warmup_epochs",
    ]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_is_accepted(optimizer: str) -> None:
    assert Recipe(optimizer=optimizer).optimizer == optimizer


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("optimizer", "adam"),
        ("optimizer", "SGD"),
        ("lr", 0.0),
        ("lr", -0.1),
        ("lr", math.inf),
        ("lr", "0.1"),
        ("weight_decay", -1e-5),
        ("momentum", 1.0),
        ("momentum", -0.1),
        ("mixup_alpha", -0.2),
        ("dropout", 1.0),
        ("dropout", True),
        ("stochastic_depth", -0.01),
        ("stochastic_depth", 1.5),
        ("ema", "yes"),
        ("ema", 1),
        ("ema_decay", 1.0),
        ("label_smoothing", 1.0),
        ("epochs", 0),
        ("epochs", 2.5),
        ("epochs", True),
        ("batch_size", -32),
        ("batch_size", 64.0),
        ("warmup_epochs", -1.0),
    ],
)
def test_invalid_fields_name_field_and_value(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        Recipe(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.value == value or (isinstance(value, float) and math.isnan(value))
    assert str(info.value).startswith(f"{field}={value!r}: ")


def test_nan_learning_rate_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        Recipe(lr=math.nan)
    assert info.value.field == "lr"
    assert "nan" in str(info.value)


def test_dict_round_trip_through_json() -> None:
    r = Recipe("rmsprop", 0.016, 1e-5, 0.9, 0.2, 0.25, 0.15, True, 0.9998, 0.1, 400, 256, 5.0)
    data = json.loads(json.dumps(r.to_dict()))
    assert Recipe.from_dict(data) == r
    assert Recipe.from_dict(Recipe().to_dict()) == Recipe()


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError) as info:
        Recipe.from_dict({"lr": 0.1, "learning_rate": 0.1})
    assert info.value.field == "recipe"
    assert info.value.value == "learning_rate"


def test_recipe_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Recipe().lr = 1.0  # type: ignore[misc]
