"""Adaptive genetic search over a search space, scored by a predictor (FBNetV3 Alg. 1, stage 2).

The GA sees a space, a score function and a feasibility mask, nothing of Optuna studies. Its
reuse over a stored study (``optnas evolve``) is study-level code: :func:`optnas.studies.evolve`
(also ``optnas.evolve``); the predictor's artifact storage is :func:`optnas.predictor.save_predictor`.

Public names: :class:`GAConfig`, :class:`GAResult`, :func:`adaptive_ga`,
:func:`crossover_probability`, :func:`mutation_probability` (the adaptive rates of
Srinivas & Patnaik, 1994).

``optnas.evolution.evolve``, ``load_predictor``, ``save_predictor`` and ``Candidate`` still
resolve, lazily, to their new homes (for code written before the move); import them from
:mod:`optnas.studies` / :mod:`optnas.predictor` instead.
"""

from __future__ import annotations

import importlib
from typing import Any

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

#: Names that moved out of this layer: name -> module that has it now.
_MOVED = {
    "Candidate": "optnas.studies._evolve",
    "evolve": "optnas.studies._evolve",
    "load_predictor": "optnas.studies._evolve",
    "save_predictor": "optnas.predictor._artifact",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
