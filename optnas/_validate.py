"""Shared checks of user input: each returns the validated value or raises one :class:`ConfigError`.

Every check takes the *full key path* of the value as its ``field`` (``"constraints.max_macs"``,
``"sampler.ga.population"``, ``"augment.recipe.lr"``), so that the one-line message a user sees
names where the value sits in the study file::

    >>> positive_int("sampler.batch_size", "8")
    Traceback (most recent call last):
    ...
    optnas._errors.ConfigError: sampler.batch_size='8': must be a positive integer, got a string

Booleans are never numbers here (TOML ``true`` is not ``1``), and a wrong type is reported with
the type the value has ("got a string", "got a boolean", "got a list"); a value of the right type
out of range is reported by its bound alone ("must be a positive integer").
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from optnas._errors import ConfigError

__all__ = [
    "boolean",
    "build_section",
    "integer",
    "kind_of",
    "non_negative_int",
    "number",
    "one_of",
    "positive_int",
    "positive_number",
    "probability",
    "string",
    "table",
]

T = TypeVar("T")


def kind_of(value: object) -> str:
    """A short English name of ``value``'s type, with its article ("a string", "a boolean", ...)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def integer(field: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` (not a bool, not a float) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, value, f"{_int_words(low, high)}, got {kind_of(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(field, value, _int_words(low, high))
    return value


def _int_words(low: int | None, high: int | None) -> str:
    if high is None and low == 1:
        return "must be a positive integer"
    if high is None and low == 0:
        return "must be a non-negative integer"
    if low is not None and high is not None:
        return f"must be an integer in [{low}, {high}]"
    if low is not None:
        return f"must be an integer >= {low}"
    if high is not None:
        return f"must be an integer <= {high}"
    return "must be an integer"


def positive_int(field: str, value: object) -> int:
    """An integer >= 1."""
    return integer(field, value, low=1)


def non_negative_int(field: str, value: object) -> int:
    """An integer >= 0."""
    return integer(field, value, low=0)


def number(
    field: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """A finite int or float (not a bool) in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, f"must be a number, got {kind_of(value)}")
    if not math.isfinite(value):
        raise ConfigError(field, value, "must be a finite number")
    below = low is not None and (value <= low if low_open else value < low)
    if below or (high is not None and value > high):
        raise ConfigError(field, value, _number_words(low, high, low_open))
    return float(value)


def _number_words(low: float | None, high: float | None, low_open: bool) -> str:
    if low == 0 and low_open and high is None:
        return "must be > 0"
    if low is not None and high is not None:
        return f"must be a number in {'(' if low_open else '['}{low:g}, {high:g}]"
    if low is not None:
        return f"must be {'>' if low_open else '>='} {low:g}"
    return f"must be <= {high:g}"


def positive_number(field: str, value: object) -> float:
    """A finite number > 0."""
    return number(field, value, low=0.0, low_open=True)


def probability(field: str, value: object) -> float:
    """A number in [0, 1]."""
    return number(field, value, low=0.0, high=1.0)


def boolean(field: str, value: object) -> bool:
    """``true`` or ``false`` (not 0/1)."""
    if not isinstance(value, bool):
        raise ConfigError(field, value, f"must be true or false, got {kind_of(value)}")
    return value


def string(field: str, value: object) -> str:
    """A string."""
    if not isinstance(value, str):
        raise ConfigError(field, value, f"must be a string, got {kind_of(value)}")
    return value


def table(field: str, value: object) -> Mapping[str, Any]:
    """A TOML table (a mapping)."""
    if not isinstance(value, Mapping):
        raise ConfigError(field, value, f"must be a table, got {kind_of(value)}")
    return value


def one_of(field: str, value: object, choices: Sequence[T]) -> T:
    """``value`` if it is one of ``choices`` (bools and ints are told apart)."""
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
    raise ConfigError(field, value, f"expected one of {list(choices)}")


def _accepts(annotation: Any, value: object) -> bool:
    """Whether ``value`` has the type ``annotation`` (int, float, bool, str, unions of them, None)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_accepts(a, value) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    return True  # a type this check does not know: the class validates it


def _type_words(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(_type_words(a) for a in typing.get_args(annotation))
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "nothing"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def build_section(field: str, value: object, cls: type[T]) -> T:
    """``cls(**value)`` for a frozen-dataclass section, with errors naming ``field.<key>``.

    Unknown keys and values of the wrong type (from the dataclass annotations) are reported here;
    range checks are the class's own (its ``__post_init__``), re-raised under ``field``.
    """
    section = table(field, value)
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    for key, item in section.items():
        if key not in names:
            raise ConfigError(f"{field}.{key}", item, f"unknown key; expected one of {names}")
        if not _accepts(hints.get(key, Any), item):
            raise ConfigError(f"{field}.{key}", item, f"must be {_type_words(hints[key])}, got {kind_of(item)}")
    try:
        return cls(**section)
    except ConfigError as exc:
        last = exc.field.rsplit(".", 1)[-1]
        where = f"{field}.{last}" if last in names else f"{field}: {exc.field}"
        raise ConfigError(where, exc.value, exc.reason) from None
