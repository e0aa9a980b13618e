"""GAConfig validation: every bad field raises ConfigError naming the field and the value."""

from __future__ import annotations

from typing import Any

import pytest

from optnas import ConfigError
from optnas.evolution import GAConfig


def test_defaults() -> None:
    c = GAConfig()
    assert (c.k1, c.k3) == (1.0, 1.0)  # Srinivas & Patnaik's crossover constants
    assert (c.k2, c.k4) == (0.1, 0.1)  # per dimension, not per bit (see GAConfig)
    assert c.epsilon == 1e-6
    assert c.n_best + c.n_random == c.population


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("population", 0),
        ("population", 2.5),
        ("population", True),
        ("n_best", -1),
        ("n_random", -2),
        ("max_generations", -1),
        ("epsilon", -1e-3),
        ("epsilon", float("nan")),
        ("patience", 0),
        ("children_per_member", 0),
        ("k1", 1.5),
        ("k2", -0.1),
        ("k3", float("inf")),
        ("k4", "0.5"),
        ("local_step", 2.0),
        ("local_sigma", 0.0),
        ("max_repair", -1),
        ("init", "latin"),
        ("init_pool", 0),
        ("init_rounds", 0),
        ("max_per_arch", 0),
    ],
)
def test_bad_field_is_named(field: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        GAConfig(**{field: value})
    assert info.value.field == field
    assert info.value.value is value or info.value.value == value or value != value
    assert field in str(info.value)


def test_empty_initialization_is_rejected() -> None:
    with pytest.raises(ConfigError, match="n_best \\+ n_random"):
        GAConfig(n_best=0, n_random=0)


def test_frozen() -> None:
    with pytest.raises(AttributeError):
        GAConfig().population = 3  # type: ignore[misc]
