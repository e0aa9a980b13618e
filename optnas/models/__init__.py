"""Models: ``build(arch, recipe, num_classes)`` assembles torchvision blocks (see ``_build``)."""

from optnas.models._build import MBConv, Network, build, se_squeeze_channels

__all__ = ["MBConv", "Network", "build", "se_squeeze_channels"]
