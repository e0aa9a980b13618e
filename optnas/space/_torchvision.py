"""A torchvision classifier as a fixed architecture (AutoTrain, FBNetV3 Sec. 5.2, Table 2).

FBNetV3's AutoTrain searches only the training recipe of a given network (ResNet, MobileNet,
EfficientNet in the paper's Table 2). :class:`TorchvisionArch` names such a network from
``torchvision.models`` so that :meth:`optnas.space.JointSpace.recipe_only` can fix it, the cost
model can count it, :func:`optnas.models.build` can build it and the trainer can train it.

Text form (one line, tokens separated by spaces)::

    torchvision:<model> [res<R>] [small]

- ``<model>``: a key of :data:`TORCHVISION_MODELS` (``resnet18``, ``mobilenet_v2``, ...).
- ``res<R>``: the input resolution (default 224, torchvision's training resolution).
- ``small``: adapt the stem to small inputs such as CIFAR's 32 px, the usual CIFAR variant of
  each family: ResNet's 7x7/2 convolution and 3x3/2 max-pool become one 3x3/1 convolution
  (He et al., 2016, Sec. 4.2 use a 3x3 first layer on CIFAR), and the MobileNet/EfficientNet
  stride-2 stem convolution gets stride 1. Without it the network is torchvision's unchanged.

``str(TorchvisionArch.parse(text))`` is the canonical text, and parsing it gives the same
object back. This module does not import torch; building and counting live in
:mod:`optnas.models` and :mod:`optnas.cost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from optnas._errors import ConfigError
from optnas.space._arch import Arch

__all__ = ["PREFIX", "TORCHVISION_MODELS", "AnyArch", "TorchvisionArch", "TorchvisionModel"]

PREFIX = "torchvision:"


@dataclass(frozen=True)
class TorchvisionModel:
    """How one torchvision classifier is adapted to a recipe.

    Attributes:
        family: ``"resnet"`` (``conv1``/``maxpool``/``fc``), ``"mobilenet"`` or
            ``"efficientnet"`` (``features[0][0]`` stem, ``dropout=`` constructor argument).
        stochastic_depth: whether the constructor takes ``stochastic_depth_prob``; for the
            others the recipe's stochastic depth must be 0 (it is fixed to 0 by
            :meth:`optnas.space.JointSpace.recipe_only`).
        total_stride: the network's output stride with torchvision's stem.
        small_stride: the output stride with the ``small`` stem.
    """

    family: str
    stochastic_depth: bool
    total_stride: int
    small_stride: int


TORCHVISION_MODELS: dict[str, TorchvisionModel] = {
    "resnet18": TorchvisionModel("resnet", False, 32, 8),
    "resnet34": TorchvisionModel("resnet", False, 32, 8),
    "resnet50": TorchvisionModel("resnet", False, 32, 8),
    "mobilenet_v2": TorchvisionModel("mobilenet", False, 32, 16),
    "mobilenet_v3_small": TorchvisionModel("mobilenet", False, 32, 16),
    "mobilenet_v3_large": TorchvisionModel("mobilenet", False, 32, 16),
    "efficientnet_b0": TorchvisionModel("efficientnet", True, 32, 16),
    "efficientnet_b1": TorchvisionModel("efficientnet", True, 32, 16),
}


@dataclass(frozen=True)
class TorchvisionArch:
    """A classifier from ``torchvision.models``, optionally adapted to small inputs.

    Args:
        model: a key of :data:`TORCHVISION_MODELS`.
        resolution: input resolution in pixels.
        small: adapt the stem to small inputs (see the module docstring).
    """

    model: str
    resolution: int = 224
    small: bool = False

    def __post_init__(self) -> None:
        if self.model not in TORCHVISION_MODELS:
            expected = sorted(TORCHVISION_MODELS)
            raise ConfigError("arch", f"{PREFIX}{self.model}", f"unknown torchvision model; expected one of {expected}")
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 1:
            raise ConfigError("resolution", self.resolution, "must be a positive integer")
        if not isinstance(self.small, bool):
            raise ConfigError("small", self.small, "must be True or False")
        if self.resolution < self.total_stride:
            raise ConfigError(
                "resolution", self.resolution, f"too small for {self.model}'s total stride {self.total_stride}"
            )

    @property
    def spec(self) -> TorchvisionModel:
        """The model's registry entry."""
        return TORCHVISION_MODELS[self.model]

    @property
    def total_stride(self) -> int:
        """Output stride of the network (with the ``small`` stem when set)."""
        return self.spec.small_stride if self.small else self.spec.total_stride

    @property
    def supports_stochastic_depth(self) -> bool:
        """Whether the recipe's stochastic depth applies to this network."""
        return self.spec.stochastic_depth

    def replace_resolution(self, resolution: int) -> TorchvisionArch:
        """The same network at another input resolution."""
        return TorchvisionArch(self.model, resolution, self.small)

    def __str__(self) -> str:
        return f"{PREFIX}{self.model} res{self.resolution}" + (" small" if self.small else "")

    @classmethod
    def parse(cls, text: str) -> TorchvisionArch:
        """Parse the text form (see the module docstring).

        Raises:
            ConfigError: naming the offending token.
        """
        if not isinstance(text, str) or not text.strip().startswith(PREFIX):
            raise ConfigError("arch", text, f"expected '{PREFIX}<model> [res<R>] [small]'")
        first, *rest = text.split()
        model = first[len(PREFIX) :]
        resolution: int | None = None
        small = False
        for tok in rest:
            if tok == "small" and not small:
                small = True
            elif tok.startswith("res") and tok[3:].isdigit() and resolution is None:
                resolution = int(tok[3:])
            else:
                raise ConfigError("arch token", tok, f"expected 'res<int>' or 'small' (once each) in {text!r}")
        return cls(model, 224 if resolution is None else resolution, small)


AnyArch: TypeAlias = Arch | TorchvisionArch
"""A fixed architecture: an optnas :class:`~optnas.space.Arch` or a :class:`TorchvisionArch`."""
