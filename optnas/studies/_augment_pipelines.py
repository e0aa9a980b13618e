"""Augmentation pipelines of the augmentation study kinds: SamplePairing partners and the baselines.

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from optnas._errors import ConfigError
from optnas.studies._augment_settings import BASELINES

__all__ = ["attach_pairing_pool", "baseline_pipeline"]


def _transforms(pipeline: Any) -> Iterable[Any]:
    """The transforms of ``pipeline``, nested ``Compose``/``Sequential``/``OneOf`` opened."""
    import albumentations as A

    if not isinstance(pipeline, A.BaseCompose):
        yield pipeline
        return
    for child in pipeline.transforms:
        yield from _transforms(child)


def attach_pairing_pool(pipeline: Any, images: Any) -> Any:
    """Give every ``SamplePairing`` op of ``pipeline`` ``images`` as its partner pool; returns it."""
    from optnas.augment import SamplePairing

    for transform in _transforms(pipeline):
        if isinstance(transform, SamplePairing):
            transform.set_pool(images)
    return pipeline


def baseline_pipeline(name: str, *, seed: int | None = None) -> Any:
    """The extra augmentation of a baseline of :data:`BASELINES` (``None`` for ``"none"``).

    ``trivialaugment`` is TrivialAugment wide (Müller & Hutter 2021); ``autoaugment:<name>``
    the published AutoAugment policy searched on ``<name>`` (Cubuk et al. 2019, Appendix).
    """
    from optnas.augment import published_policy, trivial_augment

    if name not in BASELINES:
        raise ConfigError("baseline", name, f"unknown baseline; expected one of {list(BASELINES)}")
    if name == "none":
        return None
    if name == "trivialaugment":
        return trivial_augment(seed=seed)
    return published_policy(name.split(":", 1)[1]).to_albumentations(seed=seed)
