"""Build a ``torch.nn.Module`` from an :class:`~optnas.space.Arch` with torchvision blocks.

The network is assembled from torchvision's ``Conv2dNormActivation``, ``SqueezeExcitation`` and
``StochasticDepth`` in the MBConv / inverted-residual layout shared by MobileNetV2 (Sandler et
al., 2018), MobileNetV3 (Howard et al., 2019), EfficientNet (Tan & Le, 2019) and FBNetV3
(Dai et al., 2021, Table 1): optional 1x1 expansion, depthwise kxk, optional squeeze-excite,
1x1 linear projection, identity shortcut when stride is 1 and widths match.

Parameters are created on the meta device and initialized explicitly from an injected
``torch.Generator`` (He-normal convolutions, N(0, 0.01) linear layers, unit BatchNorm), so
building a model never touches torch's global random state.
"""

from __future__ import annotations

from functools import partial
from typing import cast, overload

import torch
from torch import nn
from torchvision.ops import Conv2dNormActivation, SqueezeExcitation, StochasticDepth

from optnas._errors import ConfigError
from optnas.models._torchvision import torchvision_network
from optnas.space import AnyArch, Arch, BlockSpec, Recipe, TorchvisionArch, make_divisible
from optnas.space._arch import divisible_by

__all__ = ["MBConv", "Network", "build", "se_squeeze_channels"]

_ACT: dict[str, type[nn.Module]] = {
    "re": nn.ReLU,
    "r6": nn.ReLU6,
    "hs": nn.Hardswish,
    "sw": nn.SiLU,
}


def se_squeeze_channels(spec: BlockSpec) -> int:
    """Squeeze width of a block's squeeze-excite module (0 when the block has none)."""
    if spec.se == "se":
        return make_divisible(spec.expanded // 4, 8)
    if spec.se == "seeff":
        return max(1, spec.in_channels // 4)
    if spec.se == "sefb":
        return divisible_by(spec.in_channels // 4)
    return 0


class MBConv(nn.Module):
    """Inverted-residual block of one :class:`~optnas.space.BlockSpec`."""

    def __init__(self, spec: BlockSpec, drop_path: float) -> None:
        super().__init__()
        act = _ACT[spec.act]
        layers: list[nn.Module] = []
        if spec.expanded != spec.in_channels:
            layers.append(Conv2dNormActivation(spec.in_channels, spec.expanded, 1, activation_layer=act))
        layers.append(
            Conv2dNormActivation(
                spec.expanded,
                spec.expanded,
                spec.kernel,
                stride=spec.stride,
                padding=spec.padding,
                groups=spec.expanded,
                activation_layer=act,
            )
        )
        if spec.se == "se":
            layers.append(SqueezeExcitation(spec.expanded, se_squeeze_channels(spec), scale_activation=nn.Hardsigmoid))
        elif spec.se == "sefb":  # mobile-vision's sehsig: the block's activation, hard-sigmoid gate
            layers.append(
                SqueezeExcitation(
                    spec.expanded, se_squeeze_channels(spec), activation=act, scale_activation=nn.Hardsigmoid
                )
            )
        elif spec.se == "seeff":
            layers.append(
                SqueezeExcitation(spec.expanded, se_squeeze_channels(spec), activation=partial(nn.SiLU, inplace=True))
            )
        layers.append(Conv2dNormActivation(spec.expanded, spec.out_channels, 1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.residual = spec.residual
        self.drop_path = StochasticDepth(drop_path, "row") if self.residual and drop_path > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = cast(torch.Tensor, self.block(x))
        if self.residual:
            if self.drop_path is not None:
                out = self.drop_path(out)
            out = out + x
        return out


class Network(nn.Module):
    """Stem, MBConv blocks, head and classifier of an :class:`~optnas.space.Arch`."""

    def __init__(self, arch: Arch, num_classes: int, dropout: float, stochastic_depth: float) -> None:
        super().__init__()
        self.arch = arch
        stem = arch.stem
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, stem.out_channels, stem.kernel, stride=stem.stride, activation_layer=_ACT[stem.act])
        ]
        n = len(arch.blocks)
        for i, spec in enumerate(arch.blocks):
            # EfficientNet's rule: drop-path rate grows linearly with block depth.
            layers.append(MBConv(spec, stochastic_depth * i / n))
        head = arch.head
        layers.append(Conv2dNormActivation(arch.last_channels, head.channels, 1, activation_layer=_ACT[head.act]))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        classifier: list[nn.Module] = []
        width = head.channels
        if head.fc is not None:
            classifier += [nn.Linear(width, head.fc), _ACT[head.act]()]
            width = head.fc
        classifier += [nn.Dropout(dropout), nn.Linear(width, num_classes)]
        self.classifier = nn.Sequential(*classifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return cast(torch.Tensor, self.classifier(torch.flatten(x, 1)))


@torch.no_grad()
def _init(model: nn.Module, generator: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            m.reset_running_stats()
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


@overload
def build(
    arch: Arch,
    recipe: Recipe | None = None,
    num_classes: int = 1000,
    *,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> Network: ...


@overload
def build(
    arch: TorchvisionArch,
    recipe: Recipe | None = None,
    num_classes: int = 1000,
    *,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module: ...


def build(
    arch: AnyArch,
    recipe: Recipe | None = None,
    num_classes: int = 1000,
    *,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Build the network of ``arch``.

    Args:
        arch: the architecture: an :class:`~optnas.space.Arch` (a :class:`Network`) or a
            :class:`~optnas.space.TorchvisionArch` (torchvision's classifier, see
            :mod:`optnas.models._torchvision`).
        recipe: dropout and stochastic depth are taken from it (defaults of :class:`Recipe`
            when ``None``).
        num_classes: classifier width.
        seed: initialization seed (ignored when ``generator`` is given).
        generator: a ``torch.Generator`` to draw the initial weights from.
        device: where to allocate the parameters; ``"meta"`` builds a shape-only model.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError("num_classes", num_classes, "must be a positive integer")
    if not isinstance(arch, Arch | TorchvisionArch):
        raise ConfigError("arch", type(arch).__name__, "expected an optnas.space.Arch or TorchvisionArch")
    recipe = recipe if recipe is not None else Recipe()
    model: nn.Module
    with torch.device("meta"):
        if isinstance(arch, TorchvisionArch):
            model = torchvision_network(arch, recipe, num_classes)
        else:
            model = Network(arch, num_classes, recipe.dropout, recipe.stochastic_depth)
    if torch.device(device).type == "meta":
        return model
    model = model.to_empty(device=device)
    if generator is None:
        generator = torch.Generator(device="cpu")
        generator.manual_seed(0 if seed is None else seed)
    _init(model, generator)
    return model
