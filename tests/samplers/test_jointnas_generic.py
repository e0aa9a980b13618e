"""Optuna's shipped generic sampler test cases, run against JointNASSampler.

The cases use their own search spaces, which JointNASSampler does not own: those parameters fall
back to its independent sampler, while the joint space's plan is still made (QMC pools,
space-filling batches) for every trial the cases create.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from optnas.samplers import JointNASSampler
from optnas.space import preset


def _factory() -> BaseSampler:
    return JointNASSampler(space=preset("digits"), num_classes=10, batch_size=3, n_batches=2, pool_size=64, seed=0)


class TestJointNASSamplerBasic(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _factory


class TestJointNASSamplerRelative(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _factory


class TestJointNASSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _factory
