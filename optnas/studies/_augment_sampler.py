"""Samplers of the augmentation study kinds: PPO (AutoAugment) and the (N, M) grid (RandAugment).

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optuna.samplers import BaseSampler, GridSampler

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas.studies._augment_settings import (
    _INT_OPTIONS,
    AUTOAUGMENT_OPTIONS,
    M_PARAM,
    N_PARAM,
    AugmentSettings,
    augment_settings,
)

if TYPE_CHECKING:
    from optnas.studies._schema import StudyConfig

__all__ = ["RandAugmentGridSampler", "make_augment_sampler", "randaugment_grid"]


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


def _ppo_options(config: StudyConfig) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for key, value in config.sampler.items():
        if key == "seed":
            raise ConfigError("sampler.seed", value, "the sampler is seeded by study.seed; remove it")
        if key not in AUTOAUGMENT_OPTIONS:
            raise ConfigError(
                f"sampler.{key}", value, f"unknown PPOSampler option; expected one of {list(AUTOAUGMENT_OPTIONS)}"
            )
        if key in _INT_OPTIONS:
            validate.integer(f"sampler.{key}", value)
        else:
            validate.number(f"sampler.{key}", value)
        opts[key] = value
    return opts


def make_augment_sampler(config: StudyConfig) -> BaseSampler:
    """The sampler of an ``autoaugment`` or ``randaugment`` study (module docstring).

    Also validates the ``[augment]`` table, so that a bad study file fails before any storage
    write (:func:`optnas.studies.run_study` builds the sampler first).

    Raises:
        ConfigError: naming ``sampler.<key>`` or ``augment.<key>``.
    """
    settings = augment_settings(config)
    if config.kind == "randaugment":
        for key, value in config.sampler.items():
            raise ConfigError(
                f"sampler.{key}",
                value,
                "a randaugment study grid-searches N and M; set the grid with [augment] n and m",
            )
        return RandAugmentGridSampler(randaugment_grid(settings), seed=config.seed)
    from optnas.samplers import PPOSampler

    opts = _ppo_options(config)
    try:
        sampler: BaseSampler = PPOSampler(seed=config.seed, **opts)
    except ConfigError as exc:
        field = "sampler.ppo_epochs" if exc.field == "epochs" else f"sampler.{exc.field}"
        raise ConfigError(field, exc.value, exc.reason) from None
    return sampler
