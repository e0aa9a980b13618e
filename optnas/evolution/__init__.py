"""Adaptive genetic search over a JointSpace, scored by a predictor (FBNetV3 Alg. 1, stage 2).

Public names: :class:`GAConfig`, :class:`GAResult`, :func:`adaptive_ga`,
:func:`crossover_probability`, :func:`mutation_probability` (the adaptive rates of
Srinivas & Patnaik, 1994).
"""

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
