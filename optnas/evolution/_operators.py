"""Variation operators on column arrays of any search space (a JointSpace or a ParamSpace).

Crossover and mutation act on every searched dimension, architecture and recipe alike
(FBNetV3, Dai et al., 2021, Sec. 3.3: the GA searches the joint space). A column array holds
one candidate per row; categorical columns hold a choice index, numeric columns the value.

- **Uniform crossover**: each dimension of the child comes from either parent with
  probability 1/2.
- **Mutation** of a dimension always changes its value:

  - categorical: a different choice, uniformly;
  - integer: with probability ``local_step`` one grid step up or down (reflected at the
    ends), otherwise a different grid value, uniformly;
  - float: with probability ``local_step`` a Gaussian step of ``local_sigma`` in unit-cube
    coordinates (log coordinates for log ranges, reflected into [0, 1]), otherwise a uniform
    resample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optnas.space import Choice, FloatRange, IntRange
from optnas.space._protocol import SearchSpace

__all__ = ["Genome"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_CAT, _INT, _FLOAT = 0, 1, 2
# float local steps use a log-uniform scale in [local_sigma / _SCALE_RANGE, local_sigma]
_SCALE_RANGE = 100.0


@dataclass(frozen=True)
class _Gene:
    kind: int
    size: int  # number of values (categorical/int); 0 for floats
    low: float
    high: float
    step: float
    log: bool


def _gene(spec: IntRange | FloatRange | Choice) -> _Gene:
    if isinstance(spec, Choice):
        return _Gene(_CAT, len(spec.values), 0.0, float(len(spec.values) - 1), 1.0, False)
    if isinstance(spec, IntRange):
        return _Gene(_INT, spec.size, float(spec.low), float(spec.high), float(spec.step), False)
    if spec.step is not None:  # a float grid varies like an integer one (local steps on the grid)
        return _Gene(_INT, spec.size, float(spec.low), float(spec.high), float(spec.step), False)
    return _Gene(_FLOAT, 0, float(spec.low), float(spec.high), 0.0, spec.log)


class Genome:
    """Crossover and mutation over the searched dimensions of ``space``.

    Args:
        space: the joint space whose column arrays are varied.
        local_step: probability that an ordinal mutation is a local step.
        local_sigma: standard deviation of a float local step in unit coordinates.
    """

    def __init__(self, space: SearchSpace, *, local_step: float, local_sigma: float) -> None:
        self.genes = tuple(_gene(d.spec) for d in space.dims)
        self.local_step = local_step
        self.local_sigma = local_sigma

    @property
    def n_dims(self) -> int:
        """Number of searched dimensions (columns)."""
        return len(self.genes)

    def crossover(self, a: FloatArray, b: FloatArray, do_cross: BoolArray, rng: np.random.Generator) -> FloatArray:
        """Uniform crossover of rows ``a`` with rows ``b`` where ``do_cross``; copies of ``a`` elsewhere."""
        take_b = (rng.random(a.shape) < 0.5) & do_cross[:, None]
        return np.where(take_b, b, a)

    def mutate(self, cols: FloatArray, mask: BoolArray, rng: np.random.Generator) -> FloatArray:
        """A copy of ``cols`` with every ``mask``-ed entry changed to a different legal value."""
        out = cols.copy()
        for j, g in enumerate(self.genes):
            rows = np.flatnonzero(mask[:, j])
            if rows.size == 0:
                continue
            out[rows, j] = self._mutate_gene(g, cols[rows, j], rng)
        return out

    def _mutate_gene(self, g: _Gene, v: FloatArray, rng: np.random.Generator) -> FloatArray:
        n = v.shape[0]
        local = rng.random(n) < self.local_step
        if g.kind == _FLOAT:
            u = self._to_unit(g, v)
            step = u + self.local_sigma * rng.standard_normal(n)
            t = np.mod(step, 2.0)
            step = np.where(t > 1.0, 2.0 - t, t)
            u = np.where(local, step, rng.random(n))
            return self._from_unit(g, u)
        idx = np.rint((v - g.low) / g.step).astype(np.int64)
        resampled = (idx + rng.integers(1, g.size, size=n)) % g.size
        if g.kind == _INT:
            direction = 2 * rng.integers(0, 2, size=n) - 1
            moved = idx + direction
            moved = np.where((moved < 0) | (moved >= g.size), idx - direction, moved)
            resampled = np.where(local, moved, resampled)
        return np.asarray(g.low + resampled * g.step, dtype=float)

    @staticmethod
    def _to_unit(g: _Gene, v: FloatArray) -> FloatArray:
        if g.log:
            return np.asarray((np.log(v) - np.log(g.low)) / (np.log(g.high) - np.log(g.low)), dtype=float)
        return (v - g.low) / (g.high - g.low)

    @staticmethod
    def _from_unit(g: _Gene, u: FloatArray) -> FloatArray:
        if g.log:
            u = np.exp(np.log(g.low) + u * (np.log(g.high) - np.log(g.low)))
            return np.asarray(np.clip(u, g.low, g.high), dtype=float)
        return np.asarray(np.clip(g.low + u * (g.high - g.low), g.low, g.high), dtype=float)
