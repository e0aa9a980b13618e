"""Build a torchvision classifier for a recipe (AutoTrain, FBNetV3 Sec. 5.2, Table 2).

The network is ``torchvision.models.<model>(num_classes=...)`` built on the meta device, with
the recipe applied where torchvision lets it in: ``dropout`` before the classifier (the
constructor's ``dropout`` argument for MobileNet/EfficientNet, a ``Dropout`` in front of
ResNet's ``fc``) and ``stochastic_depth`` as EfficientNet's ``stochastic_depth_prob``. With
``small`` the stem is the CIFAR variant of the family (see :mod:`optnas.space._torchvision`).
Weights are then allocated and initialized from an injected ``torch.Generator`` with the same
scheme as :func:`optnas.models.build` (He-normal convolutions, N(0, 0.01) linear layers, unit
BatchNorm), so building never touches torch's global random state.
"""

from __future__ import annotations

from typing import Any, cast

import torchvision
from torch import nn

from optnas._errors import ConfigError
from optnas.space import Recipe, TorchvisionArch

__all__ = ["torchvision_network"]


def torchvision_network(arch: TorchvisionArch, recipe: Recipe, num_classes: int) -> nn.Module:
    """The (meta-device when called under ``torch.device("meta")``) network of ``arch``."""
    spec = arch.spec
    if recipe.stochastic_depth > 0 and not spec.stochastic_depth:
        raise ConfigError(
            "stochastic_depth", recipe.stochastic_depth, f"torchvision's {arch.model} has no stochastic depth"
        )
    kwargs: dict[str, Any] = {"num_classes": num_classes}
    if spec.family in ("mobilenet", "efficientnet"):
        kwargs["dropout"] = recipe.dropout
    if spec.family == "efficientnet":
        kwargs["stochastic_depth_prob"] = recipe.stochastic_depth
    model: nn.Module = getattr(torchvision.models, arch.model)(weights=None, **kwargs)
    if spec.family == "resnet":
        fc = model.get_submodule("fc")
        if recipe.dropout > 0:
            model.fc = nn.Sequential(nn.Dropout(recipe.dropout), fc)
        if arch.small:
            width = cast(nn.Conv2d, model.get_submodule("conv1")).out_channels
            model.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
            model.maxpool = nn.Identity()
    elif arch.small:
        stem = model.get_submodule("features.0.0")
        if not isinstance(stem, nn.Conv2d) or stem.stride != (2, 2):
            raise ConfigError("arch", str(arch), "unexpected stem layout in this torchvision version")
        stem.stride = (1, 1)
    return model
