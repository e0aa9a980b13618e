"""The registry of study kinds: every decision that depends on a study's kind, in one place.

One :class:`StudyKind` per kind says what the kind accepts in a study file (its typed
``[sampler]`` and ``[augment]`` sections, ``space.arch``, ``[constraints]``, the checks that span
sections) and how it runs (its sampler, objective and pruner, its default number of trials), is
exported (``optnas export``) and reported (``SUMMARY.md``, ``optnas report``). The schema, the
run loop (:mod:`optnas.studies._runner`), the exporter and the report look the kind up here
(:func:`study_kind_of`) and ask it; none of them compares kind strings. Adding a fifth kind
means writing its hooks and adding one entry to :data:`REGISTRY`.

=============  ==========  ==============  ============  ======================  ==================
kind           family      ``space.arch``  constraints   ``[sampler]``           ``[augment]``
=============  ==========  ==============  ============  ======================  ==================
jointnas       nas         searched        yes           JointNASSamplerSection  none
autotrain      nas         required        yes           JointNASSamplerSection  none
autoaugment    augment     optional        no            PPOSamplerSection       AutoAugmentSection
randaugment    augment     optional        no            GridSamplerSection      RandAugmentSection
=============  ==========  ==============  ============  ======================  ==================

"constraints" and ``[space.overrides]`` go together: an ``augment`` kind trains one fixed child
network with one fixed recipe, so neither a resource constraint nor a search range can apply, and
either is an error when the study file is parsed (:attr:`StudyKind.searches_space`).

The hooks import their implementation lazily, so that importing the registry (and parsing a
study file) stays cheap: no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from optnas._errors import ConfigError
from optnas.studies._augment_settings import AutoAugmentSection, RandAugmentSection
from optnas.studies._sampler_sections import (
    GridSamplerSection,
    JointNASSamplerSection,
    PPOSamplerSection,
    SamplerSection,
)
from optnas.studies._sections import _Section

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optnas.studies._schema import StudyConfig

__all__ = ["KINDS", "REGISTRY", "StudyKind", "study_kind_of"]

Family = Literal["nas", "augment"]
ArchRule = Literal["searched", "required", "optional"]
Objective = Callable[["optuna.Trial"], float]


def _never_exhausted(study: optuna.Study, sampler: optuna.samplers.BaseSampler) -> bool:
    return False


@dataclass(frozen=True)
class StudyKind:
    """One study kind.

    Attributes:
        name: the ``study.kind`` string.
        family: ``"nas"`` (a JointNASSampler study: trials are candidate networks) or ``"augment"``
            (every trial trains one fixed child network with another augmentation).
        arch: ``space.arch`` is ``"searched"`` (an error to give), ``"required"`` or ``"optional"``.
        takes_constraints: whether ``[constraints]`` applies (a fixed child network has nothing
            for a resource constraint to choose).
        sampler_section: the typed ``[sampler]`` section.
        augment_section: the typed ``[augment]`` section; ``None``: the kind has no such table.
        check: the checks that span sections, run when the study file is parsed.
        make_sampler: ``(config, num_classes, artifact_store) -> sampler`` (``num_classes`` and the
            artifact store may be ``None`` where the kind needs neither).
        make_objective: ``(config, dataset) -> objective``.
        make_pruner: ``config -> pruner``.
        planned_trials: finished trials the study aims for when the file gives no ``n_trials``.
        exhausted: whether the sampler has nothing left to propose (a grid with every point tried).
        export: writes the kind's files into a directory, returns them (``optnas export``).
        summary: the kind's own lines of ``SUMMARY.md``, given the study and the ``--top`` count.
        figures: the kind's own report figures, added to a ``Report``.
        final_augmentation: for an augmentation kind, ``(study, top) -> (policy.json document,
            albumentations pipeline)`` of the study's final augmentation; ``None`` otherwise.
        baselines: for an augmentation kind, ``(config, dataset, study) -> results`` of the
            baseline augmentations (``optnas run --baselines``); ``None`` otherwise.
    """

    name: str
    family: Family
    arch: ArchRule
    takes_constraints: bool
    sampler_section: type[SamplerSection]
    augment_section: type[_Section] | None
    check: Callable[[StudyConfig], None]
    make_sampler: Callable[[StudyConfig, int | None, Any], optuna.samplers.BaseSampler]
    make_objective: Callable[[StudyConfig, Any], Objective]
    make_pruner: Callable[[StudyConfig], optuna.pruners.BasePruner]
    planned_trials: Callable[[optuna.samplers.BaseSampler], int]
    export: Callable[[optuna.Study, Path], list[Path]]
    summary: Callable[[optuna.Study, int], list[str]]
    figures: Callable[[optuna.Study, Sequence[FrozenTrial], Any, int], None]
    final_augmentation: Callable[[optuna.Study, int], tuple[Any, Any]] | None = None
    baselines: Callable[[StudyConfig, Any, optuna.Study | None], dict[str, dict[str, Any]]] | None = None
    exhausted: Callable[[optuna.Study, optuna.samplers.BaseSampler], bool] = _never_exhausted

    @property
    def searches_architecture(self) -> bool:
        """Whether trials differ in their architecture (JointNAS)."""
        return self.arch == "searched"

    @property
    def searches_space(self) -> bool:
        """Whether trials differ in their network or recipe, so that ``[space.overrides]`` (search ranges) applies.

        An ``augment`` kind trains one fixed child network with one fixed recipe: nothing of the
        space is searched, and a search range there is an error (``[space.fixed]`` and
        ``space.arch`` choose the child).
        """
        return self.family == "nas"

    @property
    def trains_candidates(self) -> bool:
        """Whether trials are candidate networks planned in batches (the ``nas`` family)."""
        return self.family == "nas"

    @property
    def augment_keys(self) -> tuple[str, ...] | None:
        """The keys of the ``[augment]`` table; ``None``: the kind has no such table."""
        return None if self.augment_section is None else self.augment_section._names()


# --- hooks (lazy imports) ------------------------------------------------------------------------------------------
def _check_nas(config: StudyConfig) -> None:
    from optnas.studies._nas_kind import check_nas_study

    check_nas_study(config)


def _check_augment(config: StudyConfig) -> None:
    from optnas.studies._augment_settings import check_augment_study

    check_augment_study(config)


def _sampler_nas(config: StudyConfig, num_classes: int | None, store: Any) -> optuna.samplers.BaseSampler:
    from optnas.studies._nas_kind import nas_sampler

    return nas_sampler(config, num_classes, store)


def _sampler_autoaugment(config: StudyConfig, num_classes: int | None, store: Any) -> optuna.samplers.BaseSampler:
    from optnas.studies._augment_sampler import autoaugment_sampler

    return autoaugment_sampler(config)


def _sampler_randaugment(config: StudyConfig, num_classes: int | None, store: Any) -> optuna.samplers.BaseSampler:
    from optnas.studies._augment_sampler import randaugment_sampler

    return randaugment_sampler(config)


def _objective_nas(config: StudyConfig, data: Any) -> Objective:
    from optnas.studies._nas_kind import nas_objective

    return nas_objective(config, data)


def _objective_augment(config: StudyConfig, data: Any) -> Objective:
    from optnas.studies._augment_objective import make_augment_objective

    return make_augment_objective(config, data)


def _pruner_nas(config: StudyConfig) -> optuna.pruners.BasePruner:
    """No pruner: JointNAS/AutoTrain rank candidates at FBNetV3's own early-stopping budget."""
    import optuna

    return optuna.pruners.NopPruner()


def _pruner_augment(config: StudyConfig) -> optuna.pruners.BasePruner:
    """A median pruner over epochs (``train.prune = false`` disables it)."""
    import optuna

    if config.train.prune is False:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)


def _planned_nas(sampler: optuna.samplers.BaseSampler) -> int:
    """The sampler's full plan, ``n_startup + (T - 1) * m + K``."""
    return int(sampler.n_planned)  # type: ignore[attr-defined]


#: Finished trials of an AutoAugment study whose file gives no ``n_trials`` (the PPO sampler has no plan).
AUTOAUGMENT_DEFAULT_TRIALS = 32


def _planned_autoaugment(sampler: optuna.samplers.BaseSampler) -> int:
    return AUTOAUGMENT_DEFAULT_TRIALS


def _planned_randaugment(sampler: optuna.samplers.BaseSampler) -> int:
    """Every grid point once."""
    return int(sampler.default_n_trials)  # type: ignore[attr-defined]


def _exhausted_grid(study: optuna.Study, sampler: optuna.samplers.BaseSampler) -> bool:
    """Every grid point has been tried (some may have failed for good)."""
    return bool(sampler.is_exhausted(study))  # type: ignore[attr-defined]


def _baselines(config: StudyConfig, data: Any, study: optuna.Study | None) -> dict[str, dict[str, Any]]:
    from optnas.studies._augment_objective import evaluate_baselines

    return evaluate_baselines(config, data, study=study)


def _export_nas(study: optuna.Study, out: Path) -> list[Path]:
    from optnas.studies._export import export_nas

    return export_nas(study, out)


def _export_augment(study: optuna.Study, out: Path) -> list[Path]:
    from optnas.studies._export import export_augment

    return export_augment(study, out)


def _summary_nas(study: optuna.Study, top: int) -> list[str]:
    from optnas.studies._export import nas_summary_lines

    return nas_summary_lines(study, top)


def _summary_autoaugment(study: optuna.Study, top: int) -> list[str]:
    from optnas.studies._export import autoaugment_summary_lines

    return autoaugment_summary_lines(study, top)


def _summary_randaugment(study: optuna.Study, top: int) -> list[str]:
    from optnas.studies._export import randaugment_summary_lines

    return randaugment_summary_lines(study, top)


def _figures_nas(study: optuna.Study, trials: Sequence[FrozenTrial], report: Any, top: int) -> None:
    from optnas.studies._report import nas_figures

    nas_figures(study, trials, report, top)


def _figures_autoaugment(study: optuna.Study, trials: Sequence[FrozenTrial], report: Any, top: int) -> None:
    from optnas.studies._report import autoaugment_figures

    autoaugment_figures(study, trials, report, top)


def _figures_randaugment(study: optuna.Study, trials: Sequence[FrozenTrial], report: Any, top: int) -> None:
    from optnas.studies._report import randaugment_figures

    randaugment_figures(study, trials, report, top)


def _final_autoaugment(study: optuna.Study, top: int) -> tuple[Any, Any]:
    from optnas.studies._policies import autoaugment_final

    return autoaugment_final(study, top)


def _final_randaugment(study: optuna.Study, top: int) -> tuple[Any, Any]:
    from optnas.studies._policies import randaugment_final

    return randaugment_final(study, top)


#: Every study kind, by name.
REGISTRY: Mapping[str, StudyKind] = {
    kind.name: kind
    for kind in (
        StudyKind(
            name="jointnas",
            family="nas",
            arch="searched",
            takes_constraints=True,
            sampler_section=JointNASSamplerSection,
            augment_section=None,
            check=_check_nas,
            make_sampler=_sampler_nas,
            make_objective=_objective_nas,
            make_pruner=_pruner_nas,
            planned_trials=_planned_nas,
            export=_export_nas,
            summary=_summary_nas,
            figures=_figures_nas,
        ),
        StudyKind(
            name="autotrain",
            family="nas",
            arch="required",
            takes_constraints=True,
            sampler_section=JointNASSamplerSection,
            augment_section=None,
            check=_check_nas,
            make_sampler=_sampler_nas,
            make_objective=_objective_nas,
            make_pruner=_pruner_nas,
            planned_trials=_planned_nas,
            export=_export_nas,
            summary=_summary_nas,
            figures=_figures_nas,
        ),
        StudyKind(
            name="autoaugment",
            family="augment",
            arch="optional",
            takes_constraints=False,
            sampler_section=PPOSamplerSection,
            augment_section=AutoAugmentSection,
            check=_check_augment,
            make_sampler=_sampler_autoaugment,
            make_objective=_objective_augment,
            make_pruner=_pruner_augment,
            planned_trials=_planned_autoaugment,
            export=_export_augment,
            summary=_summary_autoaugment,
            figures=_figures_autoaugment,
            final_augmentation=_final_autoaugment,
            baselines=_baselines,
        ),
        StudyKind(
            name="randaugment",
            family="augment",
            arch="optional",
            takes_constraints=False,
            sampler_section=GridSamplerSection,
            augment_section=RandAugmentSection,
            check=_check_augment,
            make_sampler=_sampler_randaugment,
            make_objective=_objective_augment,
            make_pruner=_pruner_augment,
            planned_trials=_planned_randaugment,
            export=_export_augment,
            summary=_summary_randaugment,
            figures=_figures_randaugment,
            final_augmentation=_final_randaugment,
            baselines=_baselines,
            exhausted=_exhausted_grid,
        ),
    )
}

#: The kind names, in registry order.
KINDS: tuple[str, ...] = tuple(REGISTRY)


def study_kind_of(name: object, *, field: str = "study.kind") -> StudyKind:
    """The registered kind called ``name``.

    Raises:
        ConfigError: naming ``field`` when ``name`` is not a registered kind.
    """
    kind = REGISTRY.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ConfigError(field, name, f"unknown study kind; expected one of {KINDS}")
    return kind
