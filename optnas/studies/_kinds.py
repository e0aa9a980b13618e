"""The registry of study kinds: what each kind accepts in a study file, and how it is exported and reported.

One :class:`StudyKind` per kind. The study-file schema, ``optnas export``, ``SUMMARY.md`` and
``optnas report`` look a kind up here (:func:`study_kind_of`) and ask it, instead of comparing kind
strings; adding a fifth kind means adding one entry to :data:`REGISTRY` (plus its sampler and
objective in :mod:`optnas.studies._runner`, which still dispatches on :attr:`StudyKind.family`'s
kinds itself).

=============  ==========  ==============  ============  ==========================================
kind           family      ``space.arch``  constraints   ``[augment]`` keys
=============  ==========  ==============  ============  ==========================================
jointnas       nas         searched        yes           none (the section is an error)
autotrain      nas         required        yes           none
autoaugment    augment     optional        no            recipe, prune, baselines
randaugment    augment     optional        no            recipe, prune, baselines, n, m,
                                                         num_magnitude_bins
=============  ==========  ==============  ============  ==========================================

The hooks import their implementation lazily, so that importing the registry stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from optnas._errors import ConfigError

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["KINDS", "REGISTRY", "StudyKind", "study_kind_of"]

Family = Literal["nas", "augment"]
ArchRule = Literal["searched", "required", "optional"]


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
        augment_keys: the keys of the ``[augment]`` table; ``None``: the kind has no such table.
        export: writes the kind's files into a directory, returns them (``optnas export``).
        summary: the kind's own lines of ``SUMMARY.md``, given the study and the ``--top`` count.
        figures: the kind's own report figures, added to a ``Report``.
        final_augmentation: for an augmentation kind, ``(study, top) -> (policy.json document,
            albumentations pipeline)`` of the study's final augmentation; ``None`` otherwise.
    """

    name: str
    family: Family
    arch: ArchRule
    takes_constraints: bool
    augment_keys: tuple[str, ...] | None
    export: Callable[[optuna.Study, Path], list[Path]]
    summary: Callable[[optuna.Study, int], list[str]]
    figures: Callable[[optuna.Study, Sequence[FrozenTrial], Any, int], None]
    final_augmentation: Callable[[optuna.Study, int], tuple[Any, Any]] | None = None

    @property
    def searches_architecture(self) -> bool:
        """Whether trials differ in their architecture (JointNAS)."""
        return self.arch == "searched"


# --- hooks (lazy imports) ------------------------------------------------------------------------------------------
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


_AUGMENT_COMMON = ("recipe", "prune", "baselines")

#: Every study kind, by name.
REGISTRY: Mapping[str, StudyKind] = {
    kind.name: kind
    for kind in (
        StudyKind("jointnas", "nas", "searched", True, None, _export_nas, _summary_nas, _figures_nas),
        StudyKind("autotrain", "nas", "required", True, None, _export_nas, _summary_nas, _figures_nas),
        StudyKind(
            "autoaugment",
            "augment",
            "optional",
            False,
            _AUGMENT_COMMON,
            _export_augment,
            _summary_autoaugment,
            _figures_autoaugment,
            _final_autoaugment,
        ),
        StudyKind(
            "randaugment",
            "augment",
            "optional",
            False,
            (*_AUGMENT_COMMON, "n", "m", "num_magnitude_bins"),
            _export_augment,
            _summary_randaugment,
            _figures_randaugment,
            _final_randaugment,
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
