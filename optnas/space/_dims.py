"""Ranges and search dimensions: Optuna distributions, unit-cube mapping and encoding.

A dimension has three representations:

- its *value* (what Optuna stores as the parameter: an int, a float or a categorical choice);
- its *column* value in a pool (the value itself for numeric dimensions, the choice index for
  categorical ones), so that pools are plain numpy arrays;
- its *encoding* for the predictor (FBNetV3, Sec. 3.1: numeric dimensions min-max scaled to
  [0, 1], categorical ones one-hot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from optnas._errors import ConfigError
from optnas._validate import kind_of

__all__ = ["Choice", "Dim", "FloatRange", "IntRange"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IntRange:
    """Integers ``low, low + step, ..., high`` (both ends included), optionally log-uniform.

    ``log=True`` (Optuna's ``suggest_int(..., log=True)``; step must then be 1) gives every
    integer ``i`` the mass of ``[i, i + 1)`` under a log-uniform law on ``[low, high + 1)``.
    """

    low: int
    high: int
    step: int = 1
    log: bool = False

    def validate(self, name: str, *, minimum: int | None = None) -> None:
        """Raise :class:`ConfigError` naming ``name`` if the range is malformed."""
        for part in (self.low, self.high, self.step):
            if isinstance(part, bool) or not isinstance(part, int):
                raise ConfigError(name, (self.low, self.high, self.step), "bounds and step must be integers")
        if self.low > self.high:
            raise ConfigError(name, (self.low, self.high), "min > max")
        if self.step < 1:
            raise ConfigError(f"{name}.step", self.step, "must be >= 1")
        if (self.high - self.low) % self.step:
            raise ConfigError(f"{name}.step", self.step, f"does not divide the range {self.low}..{self.high}")
        if minimum is not None and self.low < minimum:
            raise ConfigError(name, (self.low, self.high), f"values must be >= {minimum}")
        if self.log and (self.low < 1 or self.step != 1):
            raise ConfigError(name, (self.low, self.high, self.step), "a log range needs min >= 1 and step 1")

    @property
    def size(self) -> int:
        """Number of values."""
        return (self.high - self.low) // self.step + 1


@dataclass(frozen=True)
class FloatRange:
    """Reals in ``[low, high]``, optionally log-uniform or on a grid of ``step``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    @property
    def size(self) -> int:
        """Number of grid values (``step`` set), as Optuna's ``FloatDistribution`` counts them."""
        if self.step is None:
            raise ValueError("a continuous range has no size")
        return round((self.high - self.low) / self.step) + 1

    def validate(self, name: str, *, minimum: float | None = None, maximum: float | None = None) -> None:
        """Raise :class:`ConfigError` naming ``name`` if the range is malformed."""
        for part in (self.low, self.high):
            if isinstance(part, bool) or not isinstance(part, int | float) or not math.isfinite(part):
                raise ConfigError(name, (self.low, self.high), "bounds must be finite numbers")
        if self.low > self.high:
            raise ConfigError(name, (self.low, self.high), "min > max")
        if self.log and self.low <= 0:
            raise ConfigError(name, (self.low, self.high), "a log range needs min > 0")
        if self.step is not None and (self.log or not self.step > 0):
            raise ConfigError(f"{name}.step", self.step, "must be > 0 and cannot be combined with log")
        if minimum is not None and self.low < minimum:
            raise ConfigError(name, (self.low, self.high), f"values must be >= {minimum}")
        if maximum is not None and self.high > maximum:
            raise ConfigError(name, (self.low, self.high), f"values must be <= {maximum}")


@dataclass(frozen=True)
class Choice:
    """A categorical set of values."""

    values: tuple[CategoricalChoiceType, ...]

    def validate(self, name: str) -> None:
        """Raise :class:`ConfigError` if empty or with duplicates."""
        if not self.values:
            raise ConfigError(name, self.values, "needs at least one choice")
        if len(set(self.values)) != len(self.values):
            raise ConfigError(name, self.values, "choices must be distinct")


Spec = IntRange | FloatRange | Choice


@dataclass(frozen=True)
class Dim:
    """One searchable dimension of a :class:`~optnas.space.JointSpace`."""

    name: str
    spec: Spec
    part: str  # "arch" or "recipe"

    # --- shape -------------------------------------------------------------------------------
    @property
    def is_categorical(self) -> bool:
        return isinstance(self.spec, Choice)

    @property
    def width(self) -> int:
        """Number of encoding columns."""
        return len(self.spec.values) if isinstance(self.spec, Choice) else 1

    @property
    def fixed(self) -> bool:
        """True when the dimension has a single value (it is then not an Optuna parameter)."""
        s = self.spec
        if isinstance(s, Choice):
            return len(s.values) == 1
        return s.low == s.high

    def single_value(self) -> Any:
        """The value of a fixed dimension (its low end / first choice)."""
        s = self.spec
        return s.values[0] if isinstance(s, Choice) else s.low

    def distribution(self) -> BaseDistribution:
        """The Optuna distribution of this dimension."""
        s = self.spec
        if isinstance(s, IntRange):
            return IntDistribution(s.low, s.high, step=s.step, log=s.log)
        if isinstance(s, FloatRange):
            return FloatDistribution(float(s.low), float(s.high), log=s.log, step=s.step)
        return CategoricalDistribution(s.values)

    # --- values <-> columns --------------------------------------------------------------------
    def to_column(self, value: Any) -> float:
        """Column value of a parameter value (choice index for categoricals)."""
        s = self.spec
        if isinstance(s, Choice):
            try:
                return float(s.values.index(value))
            except ValueError:
                raise ConfigError(self.name, value, f"not one of {s.values}") from None
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ConfigError(self.name, value, f"must be a number, got {kind_of(value)}")
        v = float(value)
        if not math.isfinite(v):
            raise ConfigError(self.name, value, "must be a finite number")
        if not (s.low - 1e-12 <= v <= s.high + 1e-12):
            raise ConfigError(self.name, value, f"outside [{s.low}, {s.high}]")
        if isinstance(s, IntRange) and (int(v) != v or (int(v) - s.low) % s.step):
            raise ConfigError(self.name, value, f"not on the grid {s.low}..{s.high} step {s.step}")
        if isinstance(s, FloatRange) and s.step is not None:
            k = (v - s.low) / s.step
            if abs(k - round(k)) > 1e-6:
                raise ConfigError(self.name, value, f"not on the grid {s.low}..{s.high} step {s.step}")
        return v

    def from_column(self, column_value: float) -> Any:
        """Parameter value of a column value."""
        s = self.spec
        if isinstance(s, Choice):
            return s.values[int(column_value)]
        if isinstance(s, IntRange):
            return int(column_value)
        return float(column_value)

    def from_unit(self, u: FloatArray) -> FloatArray:
        """Map uniform samples in [0, 1) onto column values (equal mass per grid value)."""
        s = self.spec
        u = np.clip(u, 0.0, np.nextafter(1.0, 0.0))
        if isinstance(s, Choice):
            return np.floor(u * len(s.values))
        if isinstance(s, IntRange):
            if s.log:
                z = np.exp(np.log(s.low) + u * (np.log(s.high + 1) - np.log(s.low)))
                return np.asarray(np.clip(np.floor(z), s.low, s.high), dtype=float)
            return s.low + np.floor(u * s.size) * s.step
        if s.step is not None:
            return np.asarray(np.minimum(s.low + np.floor(u * s.size) * s.step, s.high), dtype=float)
        if s.log:
            return np.asarray(np.exp(np.log(s.low) + u * (np.log(s.high) - np.log(s.low))), dtype=float)
        return s.low + u * (s.high - s.low)

    # --- encoding -------------------------------------------------------------------------------
    def encode(self, column: FloatArray) -> FloatArray:
        """Encode column values as an ``(n, width)`` array in [0, 1]."""
        s = self.spec
        n = column.shape[0]
        if isinstance(s, Choice):
            out = np.zeros((n, len(s.values)))
            out[np.arange(n), column.astype(np.int64)] = 1.0
            return out
        if s.high == s.low:
            return np.zeros((n, 1))
        if s.log:
            z = (np.log(column) - np.log(s.low)) / (np.log(s.high) - np.log(s.low))
        else:
            z = (column - s.low) / (s.high - s.low)
        return np.asarray(z, dtype=float).reshape(n, 1)

    def decode(self, block: FloatArray) -> FloatArray:
        """Inverse of :meth:`encode` (snaps to the nearest legal value)."""
        s = self.spec
        if isinstance(s, Choice):
            return np.asarray(np.argmax(block, axis=1), dtype=float)
        z = np.clip(block[:, 0], 0.0, 1.0)
        if isinstance(s, IntRange) and s.log:
            v = np.round(np.exp(np.log(s.low) + z * (np.log(s.high) - np.log(s.low))))
            return np.asarray(np.clip(v, s.low, s.high), dtype=float)
        step = s.step
        if step is not None:
            return np.asarray(np.minimum(s.low + np.round(z * (s.high - s.low) / step) * step, s.high), dtype=float)
        if s.log:
            return np.asarray(np.exp(np.log(s.low) + z * (np.log(s.high) - np.log(s.low))), dtype=float)
        return s.low + z * (s.high - s.low)

    def n_values(self) -> int | None:
        """Number of distinct values, or None for a continuous dimension."""
        s = self.spec
        if isinstance(s, Choice):
            return len(s.values)
        if isinstance(s, IntRange) or s.step is not None:
            return s.size
        return None
