"""Candidate costs for the planner: the analytic JointSpace model or a user's cost function.

FBNetV3 (Dai et al., 2021, Sec. 3) filters every pool by resource constraints before any
training. For optnas' own spaces the exact cost is analytic and vectorized
(:func:`optnas.cost.count_columns`), so whole pools are filtered exactly. For a user's space
the cost is a function of one parameter dict (``optnas.cost.count_model`` or any callable); when
it is cheap the pools are filtered exactly too, otherwise the predictor's proxy head predicts
the cost of the pool and only the chosen candidates are checked exactly.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError
from optnas.constraints import Constraint, feasible_mask
from optnas.space import JointSpace, SearchSpace

__all__ = ["AnalyticCost", "CostModel", "FunctionCost"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CostFn = Callable[[Mapping[str, Any]], Mapping[str, float]]

#: A pool may be filtered exactly when scoring 1,024 candidates costs less than this (seconds).
_EXACT_POOL_SECONDS = 2.0


class CostModel(ABC):
    """Exact costs of column rows, plus whether whole pools can afford them."""

    metrics: tuple[str, ...] = ()

    @abstractmethod
    def exact(self, space: SearchSpace, cols: FloatArray) -> dict[str, FloatArray]:
        """Every metric of every row, exactly."""

    def cheap(self, space: SearchSpace) -> bool:
        """Whether a whole pool can be costed exactly."""
        return True

    def feasible(self, space: SearchSpace, cols: FloatArray, constraints: Sequence[Constraint]) -> BoolArray:
        if not constraints or len(cols) == 0:
            return np.ones(len(cols), dtype=bool)
        return feasible_mask(constraints, self.exact(space, cols), len(cols))

    def exact_params(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Exact costs of one parameter dict (only a user cost function takes parameters directly)."""
        raise ConfigError("cost", type(self).__name__, "needs column rows of its space")

    def one(self, space: SearchSpace, row: FloatArray) -> dict[str, float]:
        return {k: float(v[0]) for k, v in self.exact(space, row[None, :]).items()}


class AnalyticCost(CostModel):
    """``macs`` and ``params`` of a :class:`JointSpace` (vectorized, exact)."""

    metrics = ("macs", "params")

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def exact(self, space: SearchSpace, cols: FloatArray) -> dict[str, FloatArray]:
        from optnas.cost import count_columns

        if not isinstance(space, JointSpace):
            raise ConfigError("space", type(space).__name__, "the analytic cost model needs a JointSpace")
        c = count_columns(space, cols, self.num_classes)
        return c.metrics()  # macs, params; latency_ms (lookup table) only when a constraint reads it


class FunctionCost(CostModel):
    """A user's ``cost(params) -> {metric: value}``, cached per parameter set."""

    def __init__(self, fn: CostFn, constraints: Sequence[Constraint]) -> None:
        if not callable(fn):
            raise ConfigError("cost", fn, "must be a callable params -> {metric: value}")
        self.fn = fn
        self.metrics = tuple(dict.fromkeys(c.metric for c in constraints))
        self._cache: dict[str, dict[str, float]] = {}
        # column rows of one space -> their costs: pools repeat candidates (a discrete space, the
        # GA's population, the batch re-planned slot by slot), and a row's bytes are a key ~20x
        # cheaper than its parameter dict's JSON
        self._rows: dict[str, dict[bytes, dict[str, float]]] = {}
        self._seconds = 0.0
        self._calls = 0

    def _call(self, params: Mapping[str, Any]) -> dict[str, float]:
        key = json.dumps(dict(params), sort_keys=True, default=str)
        hit = self._cache.get(key)
        if hit is None:
            start = time.perf_counter()
            out = self.fn(params)
            self._seconds += time.perf_counter() - start
            self._calls += 1
            if not isinstance(out, Mapping):
                raise ConfigError("cost", type(out).__name__, "must return a mapping {metric: value}")
            hit = {}
            for m in self.metrics:
                if m not in out:
                    raise ConfigError(f"max_{m}", None, f"the cost function returned no {m!r} (got {sorted(out)})")
                v = float(out[m])
                if not math.isfinite(v):
                    raise ConfigError(f"cost.{m}", v, "must be finite")
                hit[m] = v
            self._cache[key] = hit
        return hit

    def exact_params(self, params: Mapping[str, Any]) -> dict[str, float]:
        return dict(self._call(params))

    def exact(self, space: SearchSpace, cols: FloatArray) -> dict[str, FloatArray]:
        known = self._rows.setdefault(space.fingerprint(), {})
        rows = []
        for r in np.ascontiguousarray(cols, dtype=np.float64):
            key = r.tobytes()
            hit = known.get(key)
            if hit is None:
                hit = known[key] = self._call(space.to_params(r))
            rows.append(hit)
        return {m: np.array([r[m] for r in rows], dtype=float) for m in self.metrics}

    def cheap(self, space: SearchSpace) -> bool:
        if self._calls < 8:  # calibrate on a few draws
            self.exact(space, space.sample(8, 0))
        per_call = self._seconds / max(self._calls, 1)
        return per_call * 1024 < _EXACT_POOL_SECONDS
