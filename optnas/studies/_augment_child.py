"""The child network of the augmentation study kinds: its architecture and its fixed recipe.

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from optnas._errors import ConfigError
from optnas.space import AnyArch, Choice, IntRange, JointSpace, Recipe
from optnas.studies._augment_settings import CHILD_RECIPE, AugmentSettings, augment_settings

if TYPE_CHECKING:
    from optnas.studies._schema import StudyConfig

__all__ = ["child_arch", "child_recipe"]


def _lowest(spec: Any) -> Any:
    return spec.values[0] if isinstance(spec, Choice) else spec.low


def _resolution(spec: Any, image_size: int) -> int:
    if isinstance(spec, IntRange):
        values = list(range(spec.low, spec.high + 1, spec.step))
    elif isinstance(spec, Choice):
        values = sorted(int(v) for v in spec.values)  # type: ignore[arg-type]
    else:
        raise ConfigError("space.resolution", spec, "expected an integer range or choice")
    fitting = [v for v in values if v >= image_size]
    return min(fitting) if fitting else max(values)


def child_arch(space: JointSpace, image_size: int) -> AnyArch:
    """The child architecture of an augmentation study.

    ``space.fixed_arch`` (the study file's ``space.arch``) when set. Otherwise the smallest
    architecture of the space: every free architecture dimension at its low end (first kernel
    choice, lowest expansion, width and depth; ``[space.fixed]`` values kept), at the smallest
    resolution of the space's range that is at least ``image_size`` (else the largest). With the
    presets: ``digits`` gives a 3-stage 8 px network, ``cifar`` a 5-stage 32 px network of about
    40k parameters and 1.3 M MACs.

    Args:
        space: the study's space (``config.space``).
        image_size: the dataset's native image side length.
    """
    if space.fixed_arch is not None:
        return space.fixed_arch
    params: dict[str, Any] = {}
    for dim in space.dims:
        params[dim.name] = _resolution(dim.spec, image_size) if dim.name == "resolution" else _lowest(dim.spec)
    arch, _ = space.decode_params(params)
    return arch


def child_recipe(config: StudyConfig, settings: AugmentSettings | None = None) -> Recipe:
    """The child's fixed training recipe (module docstring, "The child model").

    Precedence, lowest first: :data:`CHILD_RECIPE`, the ``optnas.space.Recipe`` defaults for
    fields it does not name, recipe dimensions the space fixes (single-valued preset ranges and
    ``[space.fixed]``), then ``[augment.recipe]``.

    Raises:
        ConfigError: naming ``augment.recipe.<field>`` for an invalid override.
    """
    settings = settings if settings is not None else augment_settings(config)
    names = {f.name for f in dataclasses.fields(Recipe)}
    values: dict[str, Any] = dict(CHILD_RECIPE)
    values.update((k, v) for k, v in config.space.fixed_values().items() if k in names)
    for key in ("epochs", "batch_size"):
        values[key] = int(values.get(key, getattr(Recipe, key)))
    overrides = dict(settings.recipe)
    values.update(overrides)
    try:
        return Recipe(**values)
    except ConfigError as exc:
        field = f"augment.recipe.{exc.field}" if exc.field in overrides else f"recipe.{exc.field}"
        raise ConfigError(field, exc.value, exc.reason) from None
