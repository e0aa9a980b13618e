"""Shared problems for the GA tests: real MACs constraints from the exact cost model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from optnas.cost import count_columns
from optnas.space import JointSpace, preset

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Problem:
    """A space, a MACs budget (the median of a pool) and a separable target score."""

    space: JointSpace
    limit: float
    target: FloatArray

    def feasible(self, cols: FloatArray) -> npt.NDArray[np.bool_]:
        return count_columns(self.space, cols, num_classes=10).macs <= self.limit

    def score(self, cols: FloatArray) -> FloatArray:
        """Minus the squared distance to the target's encoding (maximum 0 at the target)."""
        enc = self.space.encode(self.target[None, :])[0]
        return -np.sum((self.space.encode(cols) - enc) ** 2, axis=1)


def make_problem(name: str, target_index: int = 0) -> Problem:
    space = preset(name)
    pool = space.sample(1024, 12345)
    limit = float(np.median(count_columns(space, pool, num_classes=10).macs))
    feasible_pool = pool[count_columns(space, pool, num_classes=10).macs <= limit]
    return Problem(space, limit, feasible_pool[target_index])


@pytest.fixture(scope="module")
def digits() -> Problem:
    return make_problem("digits")


@pytest.fixture(scope="module")
def problem_factory() -> Callable[[str, int], Problem]:
    return make_problem
