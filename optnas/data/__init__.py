"""Datasets held in memory as ``uint8`` arrays, and their augmented mini-batch loader.

``load(name, ...)`` returns an :class:`ImageData` for the embedded scikit-learn digits, an
ImageFolder tree, or torchvision's CIFAR-10/100 and SVHN. :class:`Loader` (which imports torch
and albumentations, so it is loaded lazily) turns one into augmented, normalized batches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optnas.data._image_data import ImageData
from optnas.data._load import DATASETS, load
from optnas.data._sources import IMG_EXTENSIONS, default_root

if TYPE_CHECKING:
    from optnas.data._loader import Loader, standard_padding, standard_pipeline

__all__ = [
    "DATASETS",
    "IMG_EXTENSIONS",
    "ImageData",
    "Loader",
    "default_root",
    "load",
    "standard_padding",
    "standard_pipeline",
]

_LAZY = {"Loader", "standard_padding", "standard_pipeline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("optnas.data._loader"), name)
    raise AttributeError(f"module 'optnas.data' has no attribute {name!r}")
