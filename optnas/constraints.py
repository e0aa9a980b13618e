"""Resource constraints on candidates (FBNetV3, Dai et al., 2021, Sec. 3: constrained search).

A :class:`Constraint` bounds an exactly computed statistic of a candidate: ``macs`` or
``params`` of optnas' own spaces (see :mod:`optnas.cost`), or any metric a user's ``cost``
function returns for a parameter dict (``{"macs": ..., "params": ..., "latency_ms": ...}``).
Because the statistics are known before training, the search filters its pools with them and
never proposes an infeasible candidate. The objective records the same numbers with Optuna 5's
``trial.set_constraint(name, value)`` (``value <= 0`` is feasible) and mirrors them into user
attributes, which optuna-dashboard 0.21 displays.

The constraint value is relative: ``statistic / limit - 1``, so different metrics share a scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError

if TYPE_CHECKING:
    import optuna

    from optnas.cost import Cost, PoolCost
    from optnas.space import JointSpace

__all__ = [
    "METRICS",
    "Constraint",
    "check_satisfiable",
    "feasible_mask",
    "from_dict",
    "max_latency_ms",
    "max_macs",
    "max_params",
    "metric_value",
    "minimum_cost",
    "record",
]

#: Constrained statistics and their human units.
METRICS: dict[str, str] = {"macs": "MACs", "params": "parameters", "latency_ms": "ms"}


def metric_value(cost: Any, metric: str) -> Any:
    """A statistic of a cost object (``Cost``/``PoolCost`` attribute) or of a metrics mapping."""
    if isinstance(cost, Mapping):
        if metric not in cost:
            raise ConfigError(f"max_{metric}", None, f"the cost function returned no {metric!r} (got {sorted(cost)})")
        return cost[metric]
    if not hasattr(cost, metric):
        raise ConfigError(f"max_{metric}", None, f"no {metric!r} in the cost model (known: {sorted(METRICS)})")
    return getattr(cost, metric)


@dataclass(frozen=True)
class Constraint:
    """``metric <= limit`` on an exactly computed statistic.

    ``metric`` is one of :data:`METRICS` for optnas' own spaces, or any identifier that a
    user's cost function returns (``JointNASSampler(cost=...)``).
    """

    metric: str
    limit: float

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric.isidentifier():
            raise ConfigError("constraint metric", self.metric, "must be an identifier such as 'macs' or 'params'")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int | float) or not math.isfinite(self.limit):
            raise ConfigError(f"max_{self.metric}", self.limit, "must be a finite number")
        if self.limit <= 0:
            raise ConfigError(f"max_{self.metric}", self.limit, "must be > 0")

    @property
    def name(self) -> str:
        """Constraint key used with ``trial.set_constraint`` and in user attributes."""
        return f"max_{self.metric}"

    def value(self, cost: Cost | Mapping[str, float]) -> float:
        """Relative violation of one candidate (``<= 0`` is feasible)."""
        return float(metric_value(cost, self.metric)) / self.limit - 1.0

    def values(self, pool: PoolCost | Mapping[str, npt.ArrayLike]) -> npt.NDArray[np.float64]:
        """Relative violations of a pool."""
        return np.asarray(metric_value(pool, self.metric), dtype=float) / self.limit - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "limit": self.limit}

    def __str__(self) -> str:
        return f"{self.metric} <= {self.limit:g}"


def max_macs(limit: float) -> Constraint:
    """At most ``limit`` multiply-accumulates (e.g. ``max_macs(300e6)``)."""
    return Constraint("macs", limit)


def max_params(limit: float) -> Constraint:
    """At most ``limit`` parameters (e.g. ``max_params(5e6)``)."""
    return Constraint("params", limit)


def max_latency_ms(limit: float) -> Constraint:
    """At most ``limit`` milliseconds of predicted latency (``optnas.cost.LatencyTable``)."""
    return Constraint("latency_ms", limit)


def from_dict(data: Mapping[str, Any]) -> list[Constraint]:
    """Constraints from a mapping such as ``{"max_macs": 3e6, "max_params": 1e5}``."""
    out = []
    for key, limit in data.items():
        if key.startswith("max_") and key[4:] not in METRICS:
            raise ConfigError(f"constraints.{key}", limit, f"unknown metric; expected one of {sorted(METRICS)}")
        if not key.startswith("max_"):
            raise ConfigError(
                "constraints", key, f"expected keys of the form max_<metric>, <metric> in {sorted(METRICS)}"
            )
        out.append(Constraint(key[4:], limit))
    return out


def feasible_mask(
    constraints: Sequence[Constraint], pool: PoolCost | Mapping[str, npt.ArrayLike], n: int | None = None
) -> npt.NDArray[np.bool_]:
    """Boolean mask of the pool rows that satisfy every constraint (``n`` rows for a mapping)."""
    if n is None:
        n = len(pool.macs) if not isinstance(pool, Mapping) else len(np.asarray(next(iter(pool.values()))))
    mask = np.ones(n, dtype=bool)
    for c in constraints:
        mask &= c.values(pool) <= 0.0
    return mask


def minimum_cost(space: JointSpace, num_classes: int) -> Cost:
    """Exact cost of the cheapest candidate of ``space``.

    Every statistic is non-decreasing in every architecture dimension (resolution, widths,
    expansion, depth, kernel size), so the cheapest point takes the low end of each.
    """
    from optnas.cost import count

    low: dict[str, Any] = {}
    for d in space.dims:
        spec = d.spec
        if d.part != "arch":
            low[d.name] = d.single_value()
        elif d.is_categorical:
            low[d.name] = min(spec.values)  # type: ignore[union-attr]
        else:
            low[d.name] = spec.low  # type: ignore[union-attr]
    arch, _ = space.decode_params(low)
    return count(arch, num_classes)


def check_satisfiable(space: JointSpace, constraints: Iterable[Constraint], num_classes: int) -> None:
    """Raise :class:`ConfigError` if no point of ``space`` can meet a constraint.

    The message names the constraint, its limit and the smallest achievable value.
    """
    cheapest = minimum_cost(space, num_classes)
    for c in constraints:
        achievable = getattr(cheapest, c.metric)
        if achievable > c.limit:
            shown = f"{achievable:.4g} {METRICS[c.metric]}" if isinstance(achievable, float) else f"{achievable:,}"
            raise ConfigError(
                c.name,
                c.limit,
                f"no candidate of the space can meet it: the smallest achievable {c.metric} is {shown}",
            )


def record(
    trial: optuna.trial.BaseTrial, constraints: Sequence[Constraint], cost: Cost | Mapping[str, float]
) -> bool:
    """Record cost and constraints on a trial; return feasibility.

    Calls ``trial.set_constraint`` for each constraint (Optuna 5) and mirrors the values, the
    raw statistics and the overall feasibility into user attributes (optuna-dashboard 0.21 shows
    only those).
    """
    if isinstance(cost, Mapping):
        for key, v in cost.items():
            trial.set_user_attr(str(key), float(v))
    else:
        trial.set_user_attr("macs", int(cost.macs))
        trial.set_user_attr("params", int(cost.params))
        if cost.latency is not None or any(c.metric == "latency_ms" for c in constraints):
            trial.set_user_attr("latency_ms", float(cost.latency_ms))
    feasible = True
    for c in constraints:
        v = c.value(cost)
        trial.set_constraint(c.name, v)
        trial.set_user_attr(f"constraint:{c.name}", v)
        trial.set_user_attr(f"limit:{c.name}", c.limit)
        feasible &= v <= 0.0
    trial.set_user_attr("feasible", bool(feasible))
    return bool(feasible)
