"""The hooks of the architecture study kinds, ``jointnas`` and ``autotrain`` (FBNetV3, Dai et al., 2021).

Both are a :class:`~optnas.samplers.JointNASSampler` study whose trials are candidate networks
(AutoTrain's architecture is fixed, so only the recipe differs, Sec. 5.2); the registry
(:mod:`optnas.studies._kinds`) binds these hooks to the two kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optnas._errors import ConfigError
from optnas.studies._sampler_sections import JointNASSamplerSection, remap_sampler_error

if TYPE_CHECKING:
    import optuna

    from optnas.studies._schema import StudyConfig

__all__ = ["check_nas_study", "nas_objective", "nas_sampler"]


def nas_sampler(config: StudyConfig, num_classes: int | None, artifact_store: Any) -> optuna.samplers.BaseSampler:
    """``JointNASSampler`` over the study's space and constraints, with the ``[sampler]`` section's options.

    Raises:
        ConfigError: naming ``sampler.<key>`` for an option the sampler rejects (e.g. a pool
            smaller than the batch), or the constraints that no candidate meets.
    """
    from optnas.samplers._jointnas import JointNASSampler

    section = config.sampler
    if not isinstance(section, JointNASSamplerSection):  # a StudyConfig always parses it so; a type guard
        raise ConfigError("sampler", section, f"a {config.kind} study needs a JointNAS [sampler] section")
    try:
        return JointNASSampler(
            space=config.space,
            num_classes=num_classes,
            constraints=config.constraints,
            seed=config.seed,
            artifact_store=artifact_store,
            **section.kwargs(),
        )
    except ConfigError as exc:
        raise remap_sampler_error(exc, section, {"predictor_config": "predictor", "ga_config": "ga"}) from None


def nas_objective(config: StudyConfig, data: Any) -> Callable[[optuna.Trial], float]:
    """:class:`~optnas.studies.JointNASObjective`: decode, cost, constrain, train, report."""
    from optnas.studies._objectives import JointNASObjective

    return JointNASObjective(config.space, data, config.constraints, config.seed, config.train)


def check_nas_study(config: StudyConfig) -> None:
    """The checks of an architecture study that span sections (run when the study file is parsed).

    Raises:
        ConfigError: ``train.prune`` is given: candidates are ranked at FBNetV3's early-stopping
            budget (Sec. 3.1), so the study has no pruner for it to switch.
    """
    if config.train.prune is not None:
        raise ConfigError(
            "train.prune",
            config.train.prune,
            f"a {config.kind} study ranks candidates at its early-stopping budget and has no pruner; remove it",
        )
