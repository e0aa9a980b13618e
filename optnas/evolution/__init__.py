"""Adaptive genetic search over a search space, scored by a predictor (FBNetV3 Alg. 1, stage 2).

The GA sees a space, a score function and a feasibility mask, nothing of Optuna studies. Its
reuse over a stored study (``optnas evolve``) is study-level code: :func:`optnas.studies.evolve`
(also ``optnas.evolve``); the predictor's artifact storage is :func:`optnas.predictor.save_predictor`.

Public names: :class:`GAConfig`, :class:`GAResult`, :func:`adaptive_ga`,
:func:`crossover_probability`, :func:`mutation_probability` (the adaptive rates of
Srinivas & Patnaik, 1994).

``evolve``, ``load_predictor`` and ``Candidate`` live in :mod:`optnas.studies`, and
``save_predictor`` in :mod:`optnas.predictor`.
"""

from __future__ import annotations

from optnas.evolution._config import GAConfig
from optnas.evolution._ga import GAResult, adaptive_ga
from optnas.evolution._rates import crossover_probability, mutation_probability

__all__ = [
    "GAConfig",
    "GAResult",
    "adaptive_ga",
    "crossover_probability",
    "mutation_probability",
]
