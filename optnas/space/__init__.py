"""Search spaces: architectures, recipes and the joint space of FBNetV3 (Dai et al., 2021).

Public names: :class:`Arch` (``Arch.parse(text)``, ``str(arch)``), :class:`Block`,
:class:`Stage`, :class:`Stem`, :class:`Head`, :class:`Recipe`, :class:`JointSpace`,
:class:`GroupSpec`, :class:`RecipeSpec`, :class:`IntRange`, :class:`FloatRange`,
:class:`Choice`, :class:`ParamSpace` (any Optuna search space), :class:`SearchSpace`
(the protocol both spaces implement), :func:`preset`, :func:`reference`, :class:`TorchvisionArch` (a torchvision
classifier as a fixed AutoTrain architecture), :func:`parse_arch` (any architecture text).
"""

from optnas.space._arch import (
    ACTIVATIONS,
    SE_VARIANTS,
    Arch,
    Block,
    BlockSpec,
    Head,
    Stage,
    Stem,
    make_divisible,
)
from optnas.space._dims import Choice, Dim, FloatRange, IntRange
from optnas.space._joint import GroupSpec, JointSpace, RecipeSpec
from optnas.space._params import ParamSpace
from optnas.space._presets import PRESETS, REFERENCES, parse_arch, preset, reference
from optnas.space._protocol import SearchSpace
from optnas.space._recipe import OPTIMIZERS, Recipe
from optnas.space._torchvision import TORCHVISION_MODELS, AnyArch, TorchvisionArch, TorchvisionModel

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "PRESETS",
    "REFERENCES",
    "SE_VARIANTS",
    "TORCHVISION_MODELS",
    "AnyArch",
    "Arch",
    "Block",
    "BlockSpec",
    "Choice",
    "Dim",
    "FloatRange",
    "GroupSpec",
    "Head",
    "IntRange",
    "JointSpace",
    "ParamSpace",
    "Recipe",
    "RecipeSpec",
    "SearchSpace",
    "Stage",
    "Stem",
    "TorchvisionArch",
    "TorchvisionModel",
    "make_divisible",
    "parse_arch",
    "preset",
    "reference",
]
