"""The shared validators (``optnas._validate``): the value back, or one ConfigError naming the key path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from optnas import ConfigError
from optnas import _validate as v


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (v.positive_int, 0, "k=0: must be a positive integer"),
        (v.positive_int, "3", "k='3': must be a positive integer, got a string"),
        (v.positive_int, True, "k=True: must be a positive integer, got a boolean"),
        (v.positive_int, 2.0, "k=2.0: must be a positive integer, got a number"),
        (v.non_negative_int, -1, "k=-1: must be a non-negative integer"),
        (v.positive_number, 0, "k=0: must be > 0"),
        (v.positive_number, float("inf"), "k=inf: must be a finite number"),
        (v.positive_number, [1], "k=[1]: must be a number, got a list"),
        (v.probability, 1.5, "k=1.5: must be a number in [0, 1]"),
        (v.boolean, 1, "k=1: must be true or false, got an integer"),
        (v.string, None, "k=None: must be a string, got nothing"),
        (v.table, [], "k=[]: must be a table, got a list"),
    ],
)
def test_messages(check: Any, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        check("k", value)
    assert str(info.value) == message and info.value.field == "k"


def test_values_come_back() -> None:
    assert v.positive_int("k", 3) == 3
    assert v.number("k", 2) == 2.0 and isinstance(v.number("k", 2), float)
    assert v.integer("k", 5, low=0, high=5) == 5
    assert v.one_of("k", 1, (True, 1)) == 1
    with pytest.raises(ConfigError, match=r"k=True: expected one of \[1\]"):
        v.one_of("k", True, (1,))


@dataclass(frozen=True)
class _Section:
    size: int = 1
    rate: float = 0.5
    name: str = "a"
    cap: int | None = None

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ConfigError("size", self.size, "must be >= 1")


def test_build_section() -> None:
    assert v.build_section("s.t", {"size": 2, "rate": 1, "cap": None}, _Section) == _Section(2, 1, "a", None)
    cases = [
        ({"sise": 2}, "s.t.sise=2: unknown key; expected one of ['size', 'rate', 'name', 'cap']"),
        ({"size": "2"}, "s.t.size='2': must be an integer, got a string"),
        ({"cap": 1.5}, "s.t.cap=1.5: must be an integer or nothing, got a number"),
        ({"size": 0}, "s.t.size=0: must be >= 1"),
    ]
    for section, message in cases:
        with pytest.raises(ConfigError) as info:
            v.build_section("s.t", section, _Section)
        assert str(info.value) == message
