"""``ParamSpace``: any Optuna search space as a space of the JointNAS planner.

A user defines the space with ``trial.suggest_*`` calls; the sampler infers it from the trials
(as GPSampler and TPE do) and wraps it here. Each Optuna distribution becomes one
:class:`~optnas.space.Dim`:

- ``FloatDistribution(low, high, log, step)`` -> :class:`FloatRange` (log or a step grid kept);
- ``IntDistribution(low, high, log, step)`` -> :class:`IntRange`;
- ``CategoricalDistribution(choices)`` -> :class:`Choice`.

Single-valued distributions are not searched (Optuna's relative samplers drop them too). The
parameters named in ``arch`` form the architecture part of the encoding, which the predictor's
encoder reads (FBNetV3, Dai et al., 2021, Fig. 4); the rest is the recipe, read by the accuracy
head next to the embedding. With no ``arch`` names the encoder reads every parameter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)

from optnas._errors import ConfigError
from optnas.space._columns import ColumnsMixin
from optnas.space._dims import Choice, Dim, FloatRange, IntRange

__all__ = ["ParamSpace"]

FloatArray = npt.NDArray[np.float64]


def _dim(name: str, dist: BaseDistribution, part: str) -> Dim:
    if isinstance(dist, FloatDistribution):
        step = None if dist.step is None else float(dist.step)
        return Dim(name, FloatRange(float(dist.low), float(dist.high), log=dist.log, step=step), part)
    if isinstance(dist, IntDistribution):
        return Dim(name, IntRange(int(dist.low), int(dist.high), step=int(dist.step), log=dist.log), part)
    if isinstance(dist, CategoricalDistribution):
        return Dim(name, Choice(tuple(dist.choices)), part)
    raise ConfigError(name, type(dist).__name__, "unsupported Optuna distribution")


class ParamSpace(ColumnsMixin):
    """A search space made of Optuna distributions.

    Args:
        distributions: parameter name -> Optuna distribution.
        arch: names of the architecture parameters (the encoder's input); every other one is
            a recipe parameter. Empty: the encoder reads every parameter.
        name: a label (shown in messages and stored with predictors).
    """

    fixed_arch = None

    def __init__(
        self,
        distributions: Mapping[str, BaseDistribution],
        *,
        arch: Collection[str] = (),
        name: str = "params",
    ) -> None:
        unknown = set(arch) - set(distributions)
        if unknown:
            raise ConfigError("arch_params", sorted(unknown), "not parameters of the search space")
        self._name = name
        self._dists = {k: distributions[k] for k in sorted(distributions)}
        self._arch = frozenset(arch)
        split = bool(self._arch)
        free = [(k, d) for k, d in self._dists.items() if not d.single()]
        arch_dims = [_dim(k, d, "arch") for k, d in free if (k in self._arch or not split)]
        recipe_dims = [_dim(k, d, "recipe") for k, d in free if split and k not in self._arch]
        self._free: tuple[Dim, ...] = tuple(arch_dims + recipe_dims)

    # --- shape ----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def dims(self) -> tuple[Dim, ...]:
        """The searched dimensions, architecture first."""
        return self._free

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self._free)

    @property
    def arch_params(self) -> frozenset[str]:
        return self._arch

    def distributions(self) -> dict[str, BaseDistribution]:
        """Every distribution, single-valued ones included."""
        return dict(self._dists)

    # --- points -----------------------------------------------------------------------------------
    def contains(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` holds a legal value of every searched dimension."""
        try:
            self.to_columns([params])
        except (ConfigError, TypeError, ValueError):
            return False
        return True

    # --- serialization ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (:meth:`from_dict` inverts it)."""
        return {
            "kind": "params",
            "name": self.name,
            "distributions": {k: json.loads(distribution_to_json(d)) for k, d in self._dists.items()},
            "arch": sorted(self._arch),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParamSpace:
        try:
            dists = {k: json_to_distribution(json.dumps(v)) for k, v in data["distributions"].items()}
            return cls(dists, arch=tuple(data.get("arch", ())), name=str(data.get("name", "params")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError("space", type(exc).__name__, f"malformed parameter space: {exc}") from exc

    def fingerprint(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpace) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __repr__(self) -> str:
        return f"ParamSpace({len(self._free)} dims, arch={sorted(self._arch)})"
