"""The interface every search space of the sampler, the predictor and the GA provides.

Two spaces implement it: :class:`~optnas.space.JointSpace` (optnas' own FBNetV3-shaped spaces,
with an analytic exact cost) and :class:`~optnas.space.ParamSpace` (any Optuna search space, as
a user's ``trial.suggest_*`` calls define it). Candidates travel as *column arrays*: one row per
candidate, one column per searched dimension (the value for numeric dimensions, the choice
index for categorical ones). The *encoding* is the predictor's input: numeric dimensions scaled
to the unit cube (in log space where the distribution is log), categoricals one-hot, the
architecture dimensions first (FBNetV3, Dai et al., 2021, Fig. 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from optuna.distributions import BaseDistribution

from optnas.space._dims import Dim

__all__ = ["SearchSpace"]

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class SearchSpace(Protocol):
    """What the JointNAS planner, :class:`~optnas.predictor.Predictor` and the GA need of a space."""

    @property
    def name(self) -> str: ...

    @property
    def dims(self) -> tuple[Dim, ...]: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def encoding_width(self) -> int: ...

    @property
    def arch_width(self) -> int: ...

    def distributions(self) -> dict[str, BaseDistribution]: ...

    def sample(self, n: int, seed: int | np.random.Generator | None) -> FloatArray: ...

    def sample_uniform(self, n: int, rng: np.random.Generator) -> FloatArray: ...

    def to_params(self, row: Sequence[float] | FloatArray) -> dict[str, Any]: ...

    def to_columns(self, params: Sequence[Mapping[str, Any]]) -> FloatArray: ...

    def encode(self, cols: FloatArray) -> FloatArray: ...

    def decode(self, x: FloatArray) -> FloatArray: ...

    def fingerprint(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...
