"""The adaptive rates of Srinivas & Patnaik (1994) on hand-computed values."""

from __future__ import annotations

import numpy as np

from optnas.evolution import crossover_probability, mutation_probability


def test_crossover_rate_hand_computed() -> None:
    # f_max = 2, f_avg = 1: above average pc = k1 (2 - f') / 1; below average pc = k3.
    f_prime = np.array([2.0, 1.5, 1.25, 1.0, 0.5, -3.0])
    pc = crossover_probability(f_prime, f_max=2.0, f_avg=1.0, k1=0.75, k3=0.625)
    np.testing.assert_array_equal(pc, [0.0, 0.375, 0.5625, 0.75, 0.625, 0.625])


def test_mutation_rate_hand_computed() -> None:
    # f_max = 4, f_avg = 2: above average pm = k2 (4 - f) / 2; below average pm = k4.
    f = np.array([4.0, 3.0, 2.5, 2.0, 1.999, 0.0])
    pm = mutation_probability(f, f_max=4.0, f_avg=2.0, k2=0.5, k4=0.25)
    np.testing.assert_array_equal(pm, [0.0, 0.25, 0.375, 0.5, 0.25, 0.25])


def test_paper_defaults_give_one_and_half_at_the_average() -> None:
    # k1 = k3 = 1.0 and k2 = k4 = 0.5 (Srinivas & Patnaik's recommended values): the rates
    # are continuous at f = f_avg, where both branches give k1 = k3 and k2 = k4.
    pc = crossover_probability([0.3, 0.3 - 1e-12], f_max=0.9, f_avg=0.3, k1=1.0, k3=1.0)
    pm = mutation_probability([0.3, 0.3 - 1e-12], f_max=0.9, f_avg=0.3, k2=0.5, k4=0.5)
    np.testing.assert_array_equal(pc, [1.0, 1.0])
    np.testing.assert_array_equal(pm, [0.5, 0.5])


def test_converged_population_uses_the_average_rates() -> None:
    # f_max == f_avg: the 0/0 ratio is taken as 1, so members get k1/k2, not 0 or NaN.
    pc = crossover_probability([1.0, 1.0], f_max=1.0, f_avg=1.0, k1=0.75, k3=0.5)
    pm = mutation_probability([1.0, 0.5], f_max=1.0, f_avg=1.0, k2=0.25, k4=0.125)
    np.testing.assert_array_equal(pc, [0.75, 0.75])
    np.testing.assert_array_equal(pm, [0.25, 0.125])
    assert np.all(np.isfinite(pc)) and np.all(np.isfinite(pm))


def test_scalar_input_is_accepted() -> None:
    pm = mutation_probability(3.0, f_max=4.0, f_avg=2.0, k2=0.5, k4=0.25)
    assert float(pm) == 0.25
