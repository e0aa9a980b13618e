"""Optuna's shipped generic sampler test cases, run against PPOSampler.

Parameters outside PPOSampler's schema fall back to its independent sampler; the schema is
still sampled (and recorded) for every trial, which these cases exercise alongside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from optnas.samplers import PPOSampler


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _factory() -> BaseSampler:
    return PPOSampler(seed=0, batch_size=4, hidden_size=8)


class TestPPOSamplerBasic(BasicSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _factory


class TestPPOSamplerRelative(RelativeSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _factory


class TestPPOSamplerSingleOnly(SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return _factory
