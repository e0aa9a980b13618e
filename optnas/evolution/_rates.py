"""Fitness-adaptive crossover and mutation probabilities (Srinivas & Patnaik, 1994).

Srinivas, M. & Patnaik, L. M. (1994), "Adaptive probabilities of crossover and mutation in
genetic algorithms", IEEE Trans. SMC 24(4), Sec. III. With ``f_max`` and ``f_avg`` the
maximum and mean fitness of the population:

- crossover of two parents whose larger fitness is ``f'``::

      pc = k1 * (f_max - f') / (f_max - f_avg)   if f' >= f_avg
      pc = k3                                     if f' <  f_avg

- mutation of a solution of fitness ``f``::

      pm = k2 * (f_max - f) / (f_max - f_avg)    if f >= f_avg
      pm = k4                                     if f <  f_avg

Good solutions are protected (the best one gets ``pc = pm = 0``) and poor ones are disrupted
with the constant rates ``k3``/``k4``. When ``f_max == f_avg`` every member has the same
fitness, the ratio is ``0/0``; it is taken as 1, its value at ``f = f_avg`` (so
``pc = k1``, ``pm = k2``): a converged population is disrupted like an average one instead of
being frozen.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["crossover_probability", "mutation_probability"]

FloatArray = npt.NDArray[np.float64]


def _scaled(f: FloatArray, f_max: float, f_avg: float, k_above: float, k_below: float) -> FloatArray:
    f = np.asarray(f, dtype=float)
    spread = f_max - f_avg
    ratio = np.ones_like(f) if spread <= 0.0 else np.clip((f_max - f) / spread, 0.0, 1.0)
    return np.where(f >= f_avg, k_above * ratio, k_below)


def crossover_probability(f_prime: npt.ArrayLike, *, f_max: float, f_avg: float, k1: float, k3: float) -> FloatArray:
    """Crossover probability ``pc`` of Srinivas & Patnaik (1994), element-wise.

    Args:
        f_prime: the larger fitness of the two parents of each crossover.
        f_max: the population's maximum fitness.
        f_avg: the population's mean fitness.
        k1: scale of ``pc`` for ``f' >= f_avg``: ``pc = k1 (f_max - f') / (f_max - f_avg)``.
        k3: ``pc`` for ``f' < f_avg``.

    Returns:
        ``pc`` per element; ``k1`` wherever ``f_max == f_avg`` and ``f' >= f_avg``.
    """
    return _scaled(np.asarray(f_prime, dtype=float), f_max, f_avg, k1, k3)


def mutation_probability(f: npt.ArrayLike, *, f_max: float, f_avg: float, k2: float, k4: float) -> FloatArray:
    """Mutation probability ``pm`` of Srinivas & Patnaik (1994), element-wise.

    Args:
        f: the fitness of the solution being mutated.
        f_max: the population's maximum fitness.
        f_avg: the population's mean fitness.
        k2: scale of ``pm`` for ``f >= f_avg``: ``pm = k2 (f_max - f) / (f_max - f_avg)``.
        k4: ``pm`` for ``f < f_avg``.

    Returns:
        ``pm`` per element (a per-dimension mutation probability in :func:`adaptive_ga`);
        ``k2`` wherever ``f_max == f_avg`` and ``f >= f_avg``.
    """
    return _scaled(np.asarray(f, dtype=float), f_max, f_avg, k2, k4)
