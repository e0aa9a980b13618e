"""Adaptive genetic search over a JointSpace, scored by a predictor (FBNetV3 Alg. 1, stage 2).

Reuse for new constraints: :func:`evolve`, :func:`load_predictor`, :func:`save_predictor`.

Public names: :class:`GAConfig`, :class:`GAResult`, :func:`adaptive_ga`,
:func:`crossover_probability`, :func:`mutation_probability` (the adaptive rates of
Srinivas & Patnaik, 1994).
"""

from optnas.evolution._config import GAConfig
from optnas.evolution._ga import GAResult, adaptive_ga
from optnas.evolution._rates import crossover_probability, mutation_probability
from optnas.evolution._reuse import Candidate, evolve, load_predictor, save_predictor

__all__ = [
    "Candidate",
    "GAConfig",
    "GAResult",
    "adaptive_ga",
    "crossover_probability",
    "evolve",
    "load_predictor",
    "mutation_probability",
    "save_predictor",
]
