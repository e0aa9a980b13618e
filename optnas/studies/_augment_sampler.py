"""Samplers of the augmentation study kinds: PPO (AutoAugment) and the (N, M) grid (RandAugment).

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from optuna.samplers import BaseSampler, GridSampler

from optnas._errors import ConfigError
from optnas.studies._augment_settings import M_PARAM, N_PARAM, AugmentSettings, augment_settings
from optnas.studies._sampler_sections import remap_sampler_error

if TYPE_CHECKING:
    from optnas.studies._schema import StudyConfig

__all__ = [
    "RandAugmentGridSampler",
    "autoaugment_sampler",
    "make_augment_sampler",
    "randaugment_grid",
    "randaugment_sampler",
]


def randaugment_grid(settings: AugmentSettings) -> dict[str, list[int]]:
    """The RandAugment search space for :class:`optuna.samplers.GridSampler`: ``{"N": [...], "M": [...]}``."""
    return {N_PARAM: list(settings.n_values), M_PARAM: list(settings.m_values)}


class RandAugmentGridSampler(GridSampler):
    """``GridSampler`` over RandAugment's (N, M) that states its grid size as the target.

    RandAugment (Cubuk et al. 2020, Sec. 3) replaces a policy search by a grid search over the
    number of ops ``N`` and their shared magnitude ``M``. :func:`optnas.studies.run_study` runs
    :attr:`default_n_trials` trials when the study file gives no ``n_trials``: every grid
    point once.

    Args:
        search_space: ``{"N": [...], "M": [...]}`` (see :func:`randaugment_grid`).
        seed: Seed of the order in which the grid points are visited.
    """

    def __init__(self, search_space: Mapping[str, Sequence[int]], *, seed: int | None = None) -> None:
        super().__init__({k: list(v) for k, v in search_space.items()}, seed=seed)
        self._grid_size = math.prod(len(v) for v in search_space.values())

    @property
    def default_n_trials(self) -> int:
        """Number of grid points."""
        return self._grid_size


def autoaugment_sampler(config: StudyConfig) -> BaseSampler:
    """The sampler of an ``autoaugment`` study: ``PPOSampler`` with the ``[sampler]`` section's options.

    Raises:
        ConfigError: naming ``sampler.<key>`` for an option the controller rejects.
    """
    from optnas.samplers import PPOSampler

    section = config.sampler
    try:
        sampler: BaseSampler = PPOSampler(seed=config.seed, **section.kwargs())
    except ConfigError as exc:
        raise remap_sampler_error(exc, section, {"epochs": "ppo_epochs"}) from None
    return sampler


def randaugment_sampler(config: StudyConfig) -> BaseSampler:
    """The sampler of a ``randaugment`` study: the (N, M) grid of its ``[augment]`` section."""
    return RandAugmentGridSampler(randaugment_grid(augment_settings(config)), seed=config.seed)


def make_augment_sampler(config: StudyConfig) -> BaseSampler:
    """The sampler of an ``autoaugment`` or ``randaugment`` study (the kind's registry entry makes it).

    Raises:
        ConfigError: naming ``study.kind`` when the study is not an augmentation study.
    """
    augment_settings(config)  # an augmentation study, or one line saying it is not
    from optnas.studies._kinds import study_kind_of

    return study_kind_of(config.kind).make_sampler(config, None, None)
