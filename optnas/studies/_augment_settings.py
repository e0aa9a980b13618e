"""The ``[augment]`` table of the augmentation study kinds, their constants and their defaults.

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas.space import Recipe
from optnas.studies._kinds import REGISTRY

if TYPE_CHECKING:
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
    "augment_settings",
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
AUTOAUGMENT_OPTIONS: tuple[str, ...] = (
    "batch_size",
    "learning_rate",
    "entropy_weight",
    "baseline_decay",
    "clip",
    "hidden_size",
    "ppo_epochs",
)
_INT_OPTIONS = {"batch_size", "hidden_size", "ppo_epochs"}

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
class AugmentSettings:
    """The validated ``[augment]`` table of an augmentation study.

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


def _int_list(key: str, value: Any, low: int, high: int | None) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, value, f"expected a non-empty list of integers, got {validate.kind_of(value)}")
    for i, item in enumerate(value):
        validate.integer(f"{key}[{i}]", item, low=low, high=high)
    if len(set(value)) != len(value):
        raise ConfigError(key, value, "values must be distinct")
    return tuple(value)


def augment_settings(config: StudyConfig) -> AugmentSettings:
    """Validate ``config.augment`` for the study's kind.

    Raises:
        ConfigError: naming ``augment.<key>`` for an unknown key or a bad value.
    """
    kind = config.kind
    keys = REGISTRY[kind].augment_keys if kind in REGISTRY else None
    if keys is None:
        raise ConfigError("study.kind", kind, "not an augmentation study kind (autoaugment, randaugment)")
    table = dict(config.augment)
    for key in table:
        if key not in keys:
            raise ConfigError(
                f"augment.{key}", table[key], f"unknown key for a {kind} study; expected one of {list(keys)}"
            )
    bins = validate.integer("augment.num_magnitude_bins", table.get("num_magnitude_bins", _DEFAULT_BINS), low=2)
    n_values = _int_list("augment.n", table["n"], 0, None) if "n" in table else DEFAULT_N
    if "m" in table:
        m_values = _int_list("augment.m", table["m"], 0, bins - 1)
    else:
        m_values = DEFAULT_M
        if max(m_values) > bins - 1:
            raise ConfigError("augment.num_magnitude_bins", bins, f"the default M grid {list(DEFAULT_M)} needs >= 14")
    prune = validate.boolean("augment.prune", table.get("prune", True))
    baselines = table.get("baselines", list(BASELINES))
    if not isinstance(baselines, list) or not all(isinstance(b, str) for b in baselines):
        raise ConfigError("augment.baselines", baselines, "expected a list of baseline names")
    for name in baselines:
        if name not in BASELINES:
            raise ConfigError("augment.baselines", name, f"unknown baseline; expected one of {list(BASELINES)}")
    recipe = validate.table("augment.recipe", table.get("recipe", {}))
    known = {f.name for f in dataclasses.fields(Recipe)}
    for key in recipe:
        if key not in known:
            raise ConfigError(
                f"augment.recipe.{key}", recipe[key], f"unknown recipe field; expected one of {sorted(known)}"
            )
    if config.train.augment is not None:
        raise ConfigError(
            "train.augment", config.train.augment, f"a {kind} study searches the augmentation itself; remove it"
        )
    settings = AugmentSettings(
        kind=kind,
        n_values=n_values,
        m_values=m_values,
        num_magnitude_bins=bins,
        recipe=tuple(sorted(recipe.items())),
        prune=prune,
        baselines=tuple(baselines),
    )
    from optnas.studies._augment_child import child_recipe  # it reads the settings back

    child_recipe(config, settings)  # validates the recipe values
    return settings
