"""Search-free baselines: RandAugment and TrivialAugment as albumentations pipelines.

* RandAugment (Cubuk et al. 2020, Sec. 3): ``N`` ops drawn uniformly *with replacement*
  from 14 ops (Identity included, no Invert), applied in the order drawn, all at one shared
  magnitude ``M``. albumentations' ``SomeOf`` sorts the drawn indices (list order), so the
  pipeline here is ``Sequential([OneOf(ops, p=1)] * N, p=1)``: each slot draws its own op
  uniformly, independently of the others, and the slots run in sequence.
* TrivialAugment wide (Müller & Hutter 2021, Sec. 3): one op drawn uniformly from 14 ops,
  at a magnitude drawn uniformly from 31 bins of wide ranges (``TrivialAugmentWide``).

Both are stock ``Compose``/``Sequential``/``OneOf`` over the transforms of
``optnas.augment._ops``, so they round-trip through ``albumentations.save``/``load``.
"""

from __future__ import annotations

import albumentations as A

from optnas._errors import ConfigError
from optnas.augment._policy import seeded
from optnas.augment._table import RANDAUGMENT_SPACE, TRIVIALAUGMENT_WIDE_SPACE

__all__ = ["rand_augment", "trivial_augment"]


def _check_int(field: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(field, value, "must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(field, value, f"must be {bound}")
    return value


def rand_augment(
    n: int = 2, m: int = 9, *, num_magnitude_bins: int = 31, seed: int | None = None
) -> A.Compose:
    """RandAugment(N, M) (Cubuk et al. 2020, Sec. 3) as an albumentations pipeline.

    The magnitude follows torchvision's ``RandAugment``: ``M`` indexes ``num_magnitude_bins``
    evenly spaced values over each op's AutoAugment range, so with the default 31 bins the
    paper's integer scale 0-30 maps ``M = 30`` to the AutoAugment maximum (shear 0.3,
    rotate 30°, ...). The TF reference code instead uses ``M / 10`` of the maximum
    (``num_magnitude_bins=11`` reproduces that for ``M <= 10``). Signed ops draw their sign
    per application.

    Args:
        n: Number of ops applied per image (N >= 0).
        m: Shared magnitude index in ``[0, num_magnitude_bins - 1]``.
        num_magnitude_bins: Number of magnitude bins (>= 2).
        seed: Seed of one shared random stream (``None``: albumentations' default).

    Returns:
        ``Compose([Sequential([OneOf(14 ops, p=1)] * n, p=1)])``.
    """
    n = _check_int("n", n, 0)
    num_magnitude_bins = _check_int("num_magnitude_bins", num_magnitude_bins, 2)
    m = _check_int("m", m, 0, num_magnitude_bins - 1)
    specs = RANDAUGMENT_SPACE.values()
    slots = [
        A.OneOf([s.build(s.magnitude(m, num_magnitude_bins), p=1.0) for s in specs], p=1.0)
        for _ in range(n)
    ]
    return seeded(A.Compose([A.Sequential(slots, p=1.0)], p=1.0), seed)


def trivial_augment(*, num_magnitude_bins: int = 31, seed: int | None = None) -> A.Compose:
    """TrivialAugment wide (Müller & Hutter 2021, Sec. 3) as an albumentations pipeline.

    One op uniformly from 14 (as torchvision's ``TrivialAugmentWide``), its magnitude drawn
    uniformly per image from ``num_magnitude_bins`` values of the wide ranges (see
    :mod:`optnas.augment._table`), with a random sign for signed ops.

    Args:
        num_magnitude_bins: Number of magnitude values to draw from (>= 2).
        seed: Seed of one shared random stream (``None``: albumentations' default).
    """
    num_magnitude_bins = _check_int("num_magnitude_bins", num_magnitude_bins, 2)
    ops = [
        spec.build(spec.magnitudes(num_magnitude_bins) if spec.has_magnitude else 0.0, p=1.0)
        for spec in TRIVIALAUGMENT_WIDE_SPACE.values()
    ]
    return seeded(A.Compose([A.OneOf(ops, p=1.0)], p=1.0), seed)
