"""One declarative table of the augmentation ops and their magnitude scales.

AutoAugment (Cubuk et al. 2019, Sec. 3 and Appendix Table 1) discretizes each op's
magnitude range into 10 uniformly spaced bins and its probability into 11 values
(0.0, 0.1, ..., 1.0). The bin-to-value map follows torchvision's
``AutoAugment._augmentation_space(num_bins=10)``: bin ``k`` is ``linspace(low, high, 10)[k]``;
signed ops are negated with probability 0.5 per application. Where that differs from the
paper's table (DESIGN.md):

* ShearX/Y ±0.3, Rotate ±30°: same as the paper (sign drawn per application).
* TranslateX/Y: paper ±150 px at 331 px; here a fraction up to 150/331 of the image
  width/height, as torchvision, so it scales with the image size.
* Solarize: paper threshold in [0, 256]; torchvision (and here) bins go 255 → 0, so a
  higher bin is stronger.
* Posterize: paper [4, 8] bits; torchvision (and here) bins go 8 → 4 bits
  (``8 - round(k / (9 / 4))``), so a higher bin is stronger.
* Contrast/Color/Brightness/Sharpness: paper factor in [0.1, 1.9]; here factor
  ``1 ± linspace(0, 0.9)``, the same set of factors, symmetric around 1.
* Cutout (not in torchvision): paper 0-60 px at 331 px; here a fraction up to 60/331 of
  the shorter side.
* SamplePairing (not in torchvision): blend weight in [0, 0.4] as the paper.
* AutoContrast/Invert/Equalize have no magnitude.

RandAugment (Cubuk et al. 2020, Sec. 3) uses the same ranges with 31 bins over 14 ops
(Identity added; no Invert, Cutout, SamplePairing), as torchvision's ``RandAugment``.
TrivialAugment "wide" (Müller & Hutter 2021, Sec. 3 and Table 2) uses wider ranges, as
torchvision's ``TrivialAugmentWide``: shear 0.99, translate 32 px (absolute), rotate 135°,
enhance factors 1 ± 0.99, posterize 8 → 2 bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optnas._errors import ConfigError
from optnas.augment import _ops

__all__ = [
    "AUTOAUGMENT_SPACE",
    "MAGNITUDE_BINS",
    "OP_NAMES",
    "PROBABILITY_BINS",
    "RANDAUGMENT_OPS",
    "TRIVIALAUGMENT_WIDE_SPACE",
    "OpSpec",
    "make_op",
]

MAGNITUDE_BINS = 10
"""Number of magnitude bins of the AutoAugment search space."""
PROBABILITY_BINS = 11
"""Number of probability values of the AutoAugment search space (0.0, 0.1, ..., 1.0)."""


@dataclass(frozen=True)
class OpSpec:
    """How one op's magnitude bins map onto its transform.

    Attributes:
        name: The op's name as in the paper.
        transform: The albumentations transform class in ``optnas.augment._ops``.
        low: Magnitude at bin 0.
        high: Magnitude at the last bin (values in between are evenly spaced).
        signed: Whether the magnitude's sign is drawn per application (p=0.5).
        integer: Round the bin values to integers (Posterize bits).
        has_magnitude: False for AutoContrast, Equalize, Invert, Identity.
        options: Extra keyword arguments of the transform.
    """

    name: str
    transform: type[_ops._Op]
    low: float = 0.0
    high: float = 0.0
    signed: bool = False
    integer: bool = False
    has_magnitude: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def magnitudes(self, num_bins: int = MAGNITUDE_BINS) -> tuple[float, ...]:
        """All bin values, ``linspace(low, high, num_bins)`` (rounded when ``integer``)."""
        if num_bins < 2:
            raise ConfigError("num_bins", num_bins, "need at least 2 magnitude bins")
        step = (self.high - self.low) / (num_bins - 1)
        values = [self.low + step * k for k in range(num_bins - 1)] + [self.high]
        return tuple(float(round(v)) if self.integer else v for v in values)

    def magnitude(self, magnitude_bin: int, num_bins: int = MAGNITUDE_BINS) -> float:
        """Value of one bin (0 for ops without magnitude)."""
        if isinstance(magnitude_bin, bool) or not isinstance(magnitude_bin, int):
            raise ConfigError(f"{self.name}.magnitude_bin", magnitude_bin, "must be an integer")
        if not 0 <= magnitude_bin < num_bins:
            raise ConfigError(
                f"{self.name}.magnitude_bin", magnitude_bin, f"must be in [0, {num_bins - 1}]"
            )
        return self.magnitudes(num_bins)[magnitude_bin] if self.has_magnitude else 0.0

    def build(self, magnitude: float | tuple[float, ...], p: float = 1.0) -> _ops._Op:
        """The transform at ``magnitude`` (or drawing from a tuple of them) with probability p."""
        if not self.has_magnitude:
            return self.transform(p=p, **self.options)
        kwargs: dict[str, Any] = {"magnitude": magnitude, "p": p, **self.options}
        if self.transform not in (_ops.Cutout, _ops.SamplePairing):
            kwargs["signed"] = self.signed
        return self.transform(**kwargs)


def _space(*specs: OpSpec) -> dict[str, OpSpec]:
    return {s.name: s for s in specs}


_TRANSLATE = 150.0 / 331.0
_CUTOUT = 60.0 / 331.0

AUTOAUGMENT_SPACE: Mapping[str, OpSpec] = _space(
    OpSpec("ShearX", _ops.ShearX, 0.0, 0.3, signed=True),
    OpSpec("ShearY", _ops.ShearY, 0.0, 0.3, signed=True),
    OpSpec("TranslateX", _ops.TranslateX, 0.0, _TRANSLATE, signed=True),
    OpSpec("TranslateY", _ops.TranslateY, 0.0, _TRANSLATE, signed=True),
    OpSpec("Rotate", _ops.Rotate, 0.0, 30.0, signed=True),
    OpSpec("AutoContrast", _ops.AutoContrast, has_magnitude=False),
    OpSpec("Invert", _ops.Invert, has_magnitude=False),
    OpSpec("Equalize", _ops.Equalize, has_magnitude=False),
    OpSpec("Solarize", _ops.Solarize, 255.0, 0.0),
    OpSpec("Posterize", _ops.Posterize, 8.0, 4.0, integer=True),
    OpSpec("Contrast", _ops.Contrast, 0.0, 0.9, signed=True),
    OpSpec("Color", _ops.Color, 0.0, 0.9, signed=True),
    OpSpec("Brightness", _ops.Brightness, 0.0, 0.9, signed=True),
    OpSpec("Sharpness", _ops.Sharpness, 0.0, 0.9, signed=True),
    OpSpec("Cutout", _ops.Cutout, 0.0, _CUTOUT),
    OpSpec("SamplePairing", _ops.SamplePairing, 0.0, 0.4),
)
"""The 16 AutoAugment ops in the paper's order (Appendix Table 1)."""

OP_NAMES: tuple[str, ...] = tuple(AUTOAUGMENT_SPACE)
"""The 16 op names in the paper's order; the choices of ``sp{i}_op{j}_type``."""

_IDENTITY = OpSpec("Identity", _ops.Identity, has_magnitude=False)

RANDAUGMENT_OPS: tuple[str, ...] = (
    "Identity",
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
    "Posterize",
    "Solarize",
    "AutoContrast",
    "Equalize",
)
"""RandAugment's 14 ops (Cubuk et al. 2020, Sec. 3), in torchvision's order."""

RANDAUGMENT_SPACE: Mapping[str, OpSpec] = {
    name: _IDENTITY if name == "Identity" else AUTOAUGMENT_SPACE[name] for name in RANDAUGMENT_OPS
}

TRIVIALAUGMENT_WIDE_SPACE: Mapping[str, OpSpec] = _space(
    _IDENTITY,
    OpSpec("ShearX", _ops.ShearX, 0.0, 0.99, signed=True),
    OpSpec("ShearY", _ops.ShearY, 0.0, 0.99, signed=True),
    OpSpec("TranslateX", _ops.TranslateX, 0.0, 32.0, signed=True, options={"relative": False}),
    OpSpec("TranslateY", _ops.TranslateY, 0.0, 32.0, signed=True, options={"relative": False}),
    OpSpec("Rotate", _ops.Rotate, 0.0, 135.0, signed=True),
    OpSpec("Brightness", _ops.Brightness, 0.0, 0.99, signed=True),
    OpSpec("Color", _ops.Color, 0.0, 0.99, signed=True),
    OpSpec("Contrast", _ops.Contrast, 0.0, 0.99, signed=True),
    OpSpec("Sharpness", _ops.Sharpness, 0.0, 0.99, signed=True),
    OpSpec("Posterize", _ops.Posterize, 8.0, 2.0, integer=True),
    OpSpec("Solarize", _ops.Solarize, 255.0, 0.0),
    OpSpec("AutoContrast", _ops.AutoContrast, has_magnitude=False),
    OpSpec("Equalize", _ops.Equalize, has_magnitude=False),
)
"""TrivialAugmentWide's 14 ops and wide ranges (Müller & Hutter 2021, Table 2)."""


def op_spec(name: str) -> OpSpec:
    """The AutoAugment table entry of ``name`` (ConfigError naming it if unknown)."""
    try:
        return AUTOAUGMENT_SPACE[name]
    except (KeyError, TypeError):
        expected = ", ".join(OP_NAMES)
        raise ConfigError("op", name, f"unknown op; expected one of {expected}") from None


def make_op(name: str, magnitude_bin: int | None = 0, p: float = 1.0) -> _ops._Op:
    """One AutoAugment op as an albumentations transform (AutoAugment, Sec. 3).

    Args:
        name: Op name as in the paper, one of :data:`OP_NAMES` (e.g. ``"ShearX"``).
        magnitude_bin: Bin in ``[0, 9]`` of the op's range (see the module docstring);
            ignored (``None`` allowed) for AutoContrast, Invert and Equalize.
        p: Probability of applying the op.

    Returns:
        The transform at that fixed magnitude; signed ops draw their sign per application.
    """
    spec = op_spec(name)
    if not spec.has_magnitude:
        return spec.build(0.0, p=p)
    if magnitude_bin is None:
        raise ConfigError(f"{name}.magnitude_bin", None, "this op needs a magnitude bin")
    return spec.build(spec.magnitude(magnitude_bin), p=p)
