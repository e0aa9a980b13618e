"""optnas: Optuna-native joint architecture + recipe search (FBNetV3) and augmentation search.

Importing ``optnas`` is cheap: it does not import torch, torchvision or albumentations.
Subpackages (``optnas.space``, ``optnas.cost``, ``optnas.models``, ``optnas.train``,
``optnas.data``, ``optnas.augment``, ``optnas.samplers``, ...) are loaded on first attribute
access.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from optnas._errors import ConfigError, OptnasError

# albumentations phones home on import unless this is set (DESIGN.md, "Cheap import").
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"

_SUBMODULES = {
    "augment",
    "constraints",
    "controller",
    "cost",
    "data",
    "evolution",
    "models",
    "predictor",
    "samplers",
    "space",
    "studies",
    "train",
}

__all__ = ["ConfigError", "OptnasError", "__version__", "evolve", *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"optnas.{name}")
    if name == "evolve":
        return importlib.import_module("optnas.studies").evolve
    raise AttributeError(f"module 'optnas' has no attribute {name!r}")
