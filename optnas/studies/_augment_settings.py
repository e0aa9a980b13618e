"""The ``[augment]`` table of the augmentation study kinds: typed sections, constants and defaults.

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
Each kind's ``[augment]`` table is a typed, frozen section parsed once with the study file
(:class:`AutoAugmentSection`, :class:`RandAugmentSection`; ``None`` fields were not given);
:meth:`AutoAugmentSection.settings` resolves the defaults into the :class:`AugmentSettings` a
trial uses, which also suggests the trial's augmentation (:meth:`AugmentSettings.suggest`).
"""

from __future__ import annotations

import abc
import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas.space import Recipe
from optnas.studies._sampler_sections import PPOSamplerSection
from optnas.studies._sections import _Section

if TYPE_CHECKING:
    import optuna

    from optnas.studies._schema import StudyConfig

__all__ = [
    "AUTOAUGMENT_OPTIONS",
    "BASELINES",
    "CHILD_RECIPE",
    "DEFAULT_M",
    "DEFAULT_N",
    "M_PARAM",
    "N_PARAM",
    "POLICY_ATTR",
    "AugmentSettings",
    "AutoAugmentSection",
    "AutoAugmentSettings",
    "RandAugmentSection",
    "RandAugmentSettings",
    "augment_settings",
    "check_augment_study",
]

#: RandAugment's Optuna parameter names.
N_PARAM = "N"
M_PARAM = "M"
#: Default RandAugment grid: N in {1, 2, 3} (the paper's range of N) and three magnitudes on
#: torchvision's 0-30 scale (:func:`optnas.augment.rand_augment`), 9 trials.
DEFAULT_N: tuple[int, ...] = (1, 2, 3)
DEFAULT_M: tuple[int, ...] = (5, 9, 13)
_DEFAULT_BINS = 31

#: Trial user attribute holding the trial's augmentation (a policy JSON string for
#: AutoAugment, ``"randaugment:N,M"`` for RandAugment) for the dashboard and exports.
POLICY_ATTR = "policy"

#: ``[sampler]`` options of an AutoAugment study (keyword arguments of ``PPOSampler``).
AUTOAUGMENT_OPTIONS: tuple[str, ...] = PPOSamplerSection._names()

#: Baseline augmentations of :func:`evaluate_baselines`, each on top of the standard crop + flip.
BASELINES: tuple[str, ...] = (
    "none",
    "trivialaugment",
    "autoaugment:cifar10",
    "autoaugment:imagenet",
    "autoaugment:svhn",
)

#: The child's recipe where the space does not fix a value (see :func:`child_recipe`).
CHILD_RECIPE: Mapping[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.05,
    "weight_decay": 5e-4,
    "momentum": 0.9,
    "mixup_alpha": 0.0,
    "dropout": 0.0,
    "stochastic_depth": 0.0,
    "ema": False,
    "label_smoothing": 0.0,
}


@dataclass(frozen=True)
class AugmentSettings(abc.ABC):
    """The ``[augment]`` table of an augmentation study with its defaults applied (one subclass per kind).

    Attributes:
        kind: ``"autoaugment"`` or ``"randaugment"``.
        n_values: RandAugment grid of N.
        m_values: RandAugment grid of M.
        num_magnitude_bins: Number of magnitude levels M indexes (RandAugment).
        recipe: Child-recipe overrides, as ``(field, value)`` pairs.
        prune: Whether the trainer reports to the pruner during training.
        baselines: Baselines :func:`evaluate_baselines` trains by default.
    """

    kind: str
    n_values: tuple[int, ...] = DEFAULT_N
    m_values: tuple[int, ...] = DEFAULT_M
    num_magnitude_bins: int = _DEFAULT_BINS
    recipe: tuple[tuple[str, Any], ...] = ()
    prune: bool = True
    baselines: tuple[str, ...] = BASELINES

    @abc.abstractmethod
    def suggest(self, trial: optuna.trial.BaseTrial, seed: int) -> tuple[Any, str]:
        """Suggest the trial's augmentation: ``(albumentations pipeline, description)``."""


@dataclass(frozen=True)
class AutoAugmentSettings(AugmentSettings):
    """An AutoAugment study: each trial suggests a 5-sub-policy policy (Cubuk et al. 2019, Sec. 3)."""

    kind: str = "autoaugment"

    def suggest(self, trial: optuna.trial.BaseTrial, seed: int) -> tuple[Any, str]:
        """The trial's policy (:func:`optnas.augment.suggest_policy`) and its JSON."""
        from optnas.augment import suggest_policy

        policy = suggest_policy(trial)
        return policy.to_albumentations(seed=seed), policy.to_json(indent=None)


@dataclass(frozen=True)
class RandAugmentSettings(AugmentSettings):
    """A RandAugment study: each trial suggests ``N`` and ``M`` from the grid (Cubuk et al. 2020, Sec. 3)."""

    kind: str = "randaugment"

    def suggest(self, trial: optuna.trial.BaseTrial, seed: int) -> tuple[Any, str]:
        """``rand_augment(N, M)`` and ``"randaugment:N,M"``."""
        from optnas.augment import rand_augment

        n = trial.suggest_categorical(N_PARAM, self.n_values)
        m = trial.suggest_categorical(M_PARAM, self.m_values)
        pipeline = rand_augment(int(n), int(m), num_magnitude_bins=self.num_magnitude_bins, seed=seed)
        return pipeline, f"randaugment:{n},{m}"


def _int_list(key: str, value: Any, low: int, high: int | None) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(key, value, f"expected a non-empty list of integers, got {validate.kind_of(value)}")
    for i, item in enumerate(value):
        validate.integer(f"{key}[{i}]", item, low=low, high=high)
    if len(set(value)) != len(value):
        raise ConfigError(key, value, "values must be distinct")
    return tuple(value)


_RECIPE_FIELDS = frozenset(f.name for f in dataclasses.fields(Recipe))


@dataclass(frozen=True, eq=False)
class AutoAugmentSection(_Section):
    """``[augment]`` of an ``autoaugment`` study (``None``: not given; the default applies).

    Attributes:
        recipe: ``[augment.recipe]``, child-recipe overrides (any :class:`optnas.space.Recipe` field).
        prune: whether the study's pruner may stop a child after an epoch (default true).
        baselines: the baselines ``evaluate_baselines`` trains (default :data:`BASELINES`).
    """

    where: ClassVar[str] = "augment"
    kind: ClassVar[str] = "autoaugment"
    #: The kind as a message names it.
    study: ClassVar[str] = "an autoaugment study"

    recipe: Mapping[str, Any] | None = None
    prune: bool | None = None
    baselines: tuple[str, ...] | None = None

    @classmethod
    def unknown_key(cls, key: str, value: Any) -> ConfigError:
        return ConfigError(
            f"augment.{key}", value, f"unknown key for {cls.study}; expected one of {list(cls._names())}"
        )

    def __post_init__(self) -> None:
        if self.prune is not None:
            validate.boolean("augment.prune", self.prune)
        if self.baselines is not None:
            names = self.baselines
            if not isinstance(names, list | tuple) or not all(isinstance(b, str) for b in names):
                raise ConfigError("augment.baselines", names, "expected a list of baseline names")
            for name in names:
                if name not in BASELINES:
                    raise ConfigError("augment.baselines", name, f"unknown baseline; expected one of {list(BASELINES)}")
            object.__setattr__(self, "baselines", tuple(names))
        if self.recipe is not None:
            recipe = validate.table("augment.recipe", self.recipe)
            for key in recipe:
                if key not in _RECIPE_FIELDS:
                    raise ConfigError(
                        f"augment.recipe.{key}",
                        recipe[key],
                        f"unknown recipe field; expected one of {sorted(_RECIPE_FIELDS)}",
                    )
            object.__setattr__(self, "recipe", types.MappingProxyType(dict(recipe)))

    def _common(self) -> dict[str, Any]:
        return {
            "recipe": tuple(sorted((self.recipe or {}).items())),
            "prune": True if self.prune is None else self.prune,
            "baselines": BASELINES if self.baselines is None else self.baselines,
        }

    def settings(self) -> AugmentSettings:
        """The table with its defaults applied."""
        return AutoAugmentSettings(**self._common())


@dataclass(frozen=True, eq=False)
class RandAugmentSection(AutoAugmentSection):
    """``[augment]`` of a ``randaugment`` study: the ``autoaugment`` keys and the (N, M) grid.

    Attributes:
        n: grid of N, ops per image (default ``[1, 2, 3]``).
        m: grid of M, the shared magnitude index (default ``[5, 9, 13]``); each below ``num_magnitude_bins``.
        num_magnitude_bins: the number of magnitude levels M indexes (default 31: M = 30 is the maximum).
    """

    kind: ClassVar[str] = "randaugment"
    study: ClassVar[str] = "a randaugment study"

    n: tuple[int, ...] | None = None
    m: tuple[int, ...] | None = None
    num_magnitude_bins: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        bins = _DEFAULT_BINS
        if self.num_magnitude_bins is not None:
            bins = validate.integer("augment.num_magnitude_bins", self.num_magnitude_bins, low=2)
        if self.n is not None:
            object.__setattr__(self, "n", _int_list("augment.n", self.n, 0, None))
        if self.m is not None:
            object.__setattr__(self, "m", _int_list("augment.m", self.m, 0, bins - 1))
        elif max(DEFAULT_M) > bins - 1:
            raise ConfigError("augment.num_magnitude_bins", bins, f"the default M grid {list(DEFAULT_M)} needs >= 14")

    def settings(self) -> AugmentSettings:
        """The table with its defaults applied."""
        return RandAugmentSettings(
            n_values=DEFAULT_N if self.n is None else self.n,
            m_values=DEFAULT_M if self.m is None else self.m,
            num_magnitude_bins=_DEFAULT_BINS if self.num_magnitude_bins is None else self.num_magnitude_bins,
            **self._common(),
        )


def augment_settings(config: StudyConfig) -> AugmentSettings:
    """The ``[augment]`` settings of an augmentation study (validated when the study file was parsed).

    Raises:
        ConfigError: naming ``study.kind`` when the study is not an augmentation study.
    """
    section = config.augment
    if not isinstance(section, AutoAugmentSection):
        raise ConfigError("study.kind", config.kind, "not an augmentation study kind (autoaugment, randaugment)")
    return section.settings()


def check_augment_study(config: StudyConfig) -> None:
    """The checks of an augmentation study that span sections (run when the study file is parsed).

    Raises:
        ConfigError: ``train.augment`` is given (the kind searches the augmentation itself), or an
            ``[augment.recipe]`` value is not a valid recipe value.
    """
    if config.train.augment is not None:
        raise ConfigError(
            "train.augment", config.train.augment, f"a {config.kind} study searches the augmentation itself; remove it"
        )
    from optnas.studies._augment_child import child_recipe

    child_recipe(config, augment_settings(config))  # validates the recipe values
