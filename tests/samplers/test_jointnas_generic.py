"""Optuna's shipped generic sampler test cases, run against JointNASSampler.

Two configurations: with an optnas JointSpace (the cases' own parameters then fall outside the
planned space and go to the independent sampler), and with no space at all, where JointNAS
infers the cases' search spaces from their trials and plans every parameter itself (QMC first
batch, predictor batches, the stage-2 GA), as GPSampler and TPE do.
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

from optnas.predictor import PredictorConfig
from optnas.samplers import JointNASSampler
from optnas.space import preset


def _joint() -> BaseSampler:
    return JointNASSampler(space=preset("digits"), num_classes=10, batch_size=3, n_batches=2, pool_size=64, seed=0)


def _any_space() -> BaseSampler:
    # small batches and a light predictor, so that the cases' many short studies reach
    # predictor-planned batches and stage 2 quickly
    return JointNASSampler(
        batch_size=2,
        n_batches=2,
        final_batch_size=2,
        pool_size=64,
        seed=0,
        predictor_config=PredictorConfig(fit_steps=20, ensemble=2, bootstrap=True),
    )


FACTORIES = [_joint, _any_space]


@pytest.fixture(params=FACTORIES, ids=["jointspace", "any-space"])
def _factory(request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
    return request.param  # type: ignore[no-any-return]


class TestJointNASSamplerBasic(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self, _factory: Callable[[], BaseSampler]) -> Callable[[], BaseSampler]:
        return _factory


class TestJointNASSamplerRelative(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self, _factory: Callable[[], BaseSampler]) -> Callable[[], BaseSampler]:
        return _factory


class TestJointNASSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self, _factory: Callable[[], BaseSampler]) -> Callable[[], BaseSampler]:
        return _factory
