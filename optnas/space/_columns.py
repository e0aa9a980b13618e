"""Column arrays and the predictor's encoding, shared by every space made of :class:`Dim` s.

A space that holds its searched dimensions in ``_free`` (architecture first) gets from
:class:`ColumnsMixin` its QMC pools, the conversion between Optuna parameters and column rows,
and the unit-cube encoding (FBNetV3, Dai et al., 2021, Sec. 3.1: numeric dimensions min-max
scaled, in log space where the range is log, categoricals one-hot). JointSpace and ParamSpace
both use it, so the pool, the predictor, the diversity rule and the GA see one encoding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import qmc

from optnas._errors import ConfigError
from optnas.space._dims import Dim

__all__ = ["ColumnsMixin"]

FloatArray = npt.NDArray[np.float64]


class ColumnsMixin:
    """Pools, parameter <-> column conversion and encoding over ``self._free``."""

    _free: tuple[Dim, ...]

    # --- points -----------------------------------------------------------------------------------
    def sample(self, n: int, seed: int | np.random.Generator | None) -> FloatArray:
        """A scrambled Sobol (QMC) pool of ``n`` points as column values, ``(n, len(dims))``.

        Deterministic for an integer seed. The first ``n`` points of a ``2**m`` Sobol
        sequence (``m = ceil(log2 n)``) are taken, which keeps the low-discrepancy property.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError("pool_size", n, "must be a positive integer")
        d = len(self._free)
        if d == 0:
            return np.zeros((n, 0))
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        sobol = qmc.Sobol(d, scramble=True, seed=rng)
        u = sobol.random_base2(max(0, math.ceil(math.log2(n))))[:n]
        return self._from_unit(u)

    def sample_uniform(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` i.i.d. uniform points as column values (used by the genetic algorithm)."""
        return self._from_unit(rng.random((n, len(self._free))))

    def _from_unit(self, u: FloatArray) -> FloatArray:
        cols = [d.from_unit(u[:, j]) for j, d in enumerate(self._free)]
        return np.stack(cols, axis=1) if cols else np.zeros((u.shape[0], 0))

    def to_params(self, row: Sequence[float] | FloatArray) -> dict[str, Any]:
        """Optuna parameters of one pool row (searched dimensions only)."""
        return {d.name: d.from_column(float(v)) for d, v in zip(self._free, row, strict=True)}

    def to_columns(self, params: Sequence[Mapping[str, Any]]) -> FloatArray:
        """Column array of a sequence of parameter dicts; :class:`ConfigError` for a missing or foreign value."""
        out = np.zeros((len(params), len(self._free)))
        for i, p in enumerate(params):
            for j, d in enumerate(self._free):
                if d.name not in p:
                    raise ConfigError(d.name, None, "missing parameter")
                out[i, j] = d.to_column(p[d.name])
        return out

    # --- encoding for the predictor ----------------------------------------------------------------
    @property
    def encoding_width(self) -> int:
        """Length of :meth:`encode` rows."""
        return sum(d.width for d in self._free)

    @property
    def arch_width(self) -> int:
        """Number of leading encoding columns that describe the architecture."""
        return sum(d.width for d in self._free if d.part == "arch")

    def encode(self, cols: FloatArray) -> FloatArray:
        """Fixed-length numeric encoding: numeric dims min-max scaled, categoricals one-hot.

        Architecture columns come first (``[:, :arch_width]``), recipe columns after: the
        predictor's encoder reads the former, its accuracy head also the latter (FBNetV3 Fig. 4).
        """
        blocks = [d.encode(cols[:, j]) for j, d in enumerate(self._free)]
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((cols.shape[0], 0))

    def decode(self, x: FloatArray) -> FloatArray:
        """Inverse of :meth:`encode`: column values snapped to legal values."""
        out = np.zeros((x.shape[0], len(self._free)))
        pos = 0
        for j, d in enumerate(self._free):
            out[:, j] = d.decode(x[:, pos : pos + d.width])
            pos += d.width
        return out
