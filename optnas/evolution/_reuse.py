"""Temporary compatibility shim: the study-level reuse code moved out of :mod:`optnas.evolution`.

* :func:`save_predictor` (and the latency-table artifacts) now live in :mod:`optnas.predictor`
  (``from optnas.predictor import save_predictor``);
* :func:`evolve`, :func:`load_predictor` and :class:`Candidate` live in :mod:`optnas.studies`.

``optnas/samplers/_jointnas.py`` and a few sampler tests still import these names from here;
once they import from the new homes, delete this module. Nothing is imported from the study
layer until one of its names is asked for, so importing :mod:`optnas.evolution` never runs up a
layer.
"""

from __future__ import annotations

import importlib
from typing import Any

from optnas.predictor._artifact import (
    LATENCY_ATTR,
    PREDICTOR_ATTR,
    load_latency_table,
    save_latency_table,
    save_predictor,
)

__all__ = [
    "LATENCY_ATTR",
    "PREDICTOR_ATTR",
    "load_latency_table",
    "save_latency_table",
    "save_predictor",
]

#: Names that moved to the study layer: name -> (module, attribute).
_MOVED = {
    "Candidate": ("optnas.studies._evolve", "Candidate"),
    "evolve": ("optnas.studies._evolve", "evolve"),
    "load_predictor": ("optnas.studies._evolve", "load_predictor"),
    "_evaluated": ("optnas.studies._evolve", "evaluated_columns"),
    "_joint_space": ("optnas.studies._evolve", "joint_space"),
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        module, attribute = _MOVED[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
