"""Crossover and mutation: legal values, always a change, local steps, uniform resampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from optnas.evolution._operators import Genome
from optnas.space import Choice, FloatRange, IntRange, preset


@pytest.mark.parametrize("name", ["digits", "cifar", "fbnetv3"])
def test_mutation_changes_every_masked_entry_to_a_legal_value(name: str) -> None:
    space = preset(name)
    genome = Genome(space, local_step=0.5, local_sigma=0.1)
    rng = np.random.default_rng(0)
    cols = space.sample(256, 1)
    mask = rng.random(cols.shape) < 0.5
    out = genome.mutate(cols, mask, rng)
    assert np.all(out[mask] != cols[mask])
    np.testing.assert_array_equal(out[~mask], cols[~mask])
    # every value is on the space's grid / in its range: to_columns validates each parameter
    back = space.to_columns([space.to_params(row) for row in out])
    np.testing.assert_allclose(back, out)


def test_integer_local_steps_move_one_grid_step() -> None:
    space = preset("fbnetv3")
    j = space.names.index("g4_c")  # IntRange(96, 144, 4): 13 values
    spec = space.dims[j].spec
    assert isinstance(spec, IntRange)
    genome = Genome(space, local_step=1.0, local_sigma=0.1)
    cols = np.tile(space.sample(1, 0), (3000, 1))
    cols[:1000, j] = spec.low
    cols[1000:2000, j] = spec.high
    cols[2000:, j] = 120
    mask = np.zeros(cols.shape, dtype=bool)
    mask[:, j] = True
    out = genome.mutate(cols, mask, np.random.default_rng(3))[:, j]
    np.testing.assert_array_equal(out[:1000], spec.low + spec.step)  # reflected at the low end
    np.testing.assert_array_equal(out[1000:2000], spec.high - spec.step)
    middle = out[2000:]
    assert set(middle.tolist()) == {116.0, 124.0}
    assert abs(np.mean(middle == 124.0) - 0.5) < 0.06  # both directions equally likely


def test_categorical_resample_is_uniform_over_the_other_choices() -> None:
    space = preset("cifar")
    j = space.names.index("optimizer")  # three optimizers
    spec = space.dims[j].spec
    assert isinstance(spec, Choice) and len(spec.values) == 3
    genome = Genome(space, local_step=1.0, local_sigma=0.1)  # local_step ignored: categorical
    cols = np.tile(space.sample(1, 0), (6000, 1))
    cols[:, j] = 1.0
    mask = np.zeros(cols.shape, dtype=bool)
    mask[:, j] = True
    out = genome.mutate(cols, mask, np.random.default_rng(5))[:, j]
    counts = np.array([np.sum(out == 0.0), np.sum(out == 1.0), np.sum(out == 2.0)])
    assert counts[1] == 0
    assert chisquare(counts[[0, 2]]).pvalue > 1e-3


def test_float_resample_is_uniform_in_log_coordinates() -> None:
    space = preset("digits")
    j = space.names.index("lr")
    spec = space.dims[j].spec
    assert isinstance(spec, FloatRange) and spec.log
    genome = Genome(space, local_step=0.0, local_sigma=0.1)
    cols = np.tile(space.sample(1, 0), (5000, 1))
    mask = np.zeros(cols.shape, dtype=bool)
    mask[:, j] = True
    out = genome.mutate(cols, mask, np.random.default_rng(7))[:, j]
    u = (np.log(out) - np.log(spec.low)) / (np.log(spec.high) - np.log(spec.low))
    counts, _ = np.histogram(u, bins=10, range=(0.0, 1.0))
    assert chisquare(counts).pvalue > 1e-3


def test_float_local_step_is_small_and_stays_in_range() -> None:
    space = preset("digits")
    j = space.names.index("dropout")  # linear [0, 0.3]
    genome = Genome(space, local_step=1.0, local_sigma=0.05)
    cols = np.tile(space.sample(1, 0), (4000, 1))
    cols[:2000, j] = 0.0  # at the edge: the step is reflected into the range
    cols[2000:, j] = 0.15
    mask = np.zeros(cols.shape, dtype=bool)
    mask[:, j] = True
    out = genome.mutate(cols, mask, np.random.default_rng(11))[:, j]
    assert np.all((out >= 0.0) & (out <= 0.3))
    step = (out[2000:] - 0.15) / 0.3  # unit coordinates
    assert abs(np.std(step) - 0.05) < 0.005
    assert abs(np.mean(step)) < 0.005
    assert abs(np.mean(out[:2000] / 0.3) - 0.05 * np.sqrt(2 / np.pi)) < 0.005


def test_uniform_crossover_mixes_half_of_the_dimensions() -> None:
    space = preset("fbnetv3")
    genome = Genome(space, local_step=0.5, local_sigma=0.1)
    n = 2000
    a = np.zeros((n, genome.n_dims))
    b = np.ones((n, genome.n_dims))
    do = np.arange(n) < n // 2
    child = genome.crossover(a, b, do, np.random.default_rng(0))
    np.testing.assert_array_equal(child[~do], 0.0)  # no crossover: a copy of the first parent
    frac = child[do].mean()
    assert abs(frac - 0.5) < 0.01
