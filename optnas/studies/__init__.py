"""Study files, objectives and the run loop behind ``optnas run``; reuse of a study's predictor
for new constraints (``optnas evolve``: :func:`evolve`, :func:`sweep`)."""

from optnas.studies._augment_kinds import evaluate_baselines, make_augment_objective, make_augment_sampler
from optnas.studies._evolve import Candidate, evolve, load_predictor
from optnas.studies._front import Front, FrontPoint, SweepSpec, enqueue_front, parse_sweep, sweep, write_front
from optnas.studies._kinds import REGISTRY, StudyKind, study_kind_of
from optnas.studies._objectives import INFEASIBLE_VALUE, JointNASObjective
from optnas.studies._policies import best_randaugment, export_policy, final_policy
from optnas.studies._runner import (
    DEFAULT_STORAGE,
    best_feasible,
    load_data,
    make_objective,
    make_sampler,
    open_storage,
    open_study,
    run_study,
)
from optnas.studies._schema import KINDS, StudyConfig, load_study_file, parse_study

__all__ = [
    "DEFAULT_STORAGE",
    "INFEASIBLE_VALUE",
    "KINDS",
    "REGISTRY",
    "Candidate",
    "Front",
    "FrontPoint",
    "JointNASObjective",
    "StudyConfig",
    "StudyKind",
    "SweepSpec",
    "best_feasible",
    "best_randaugment",
    "enqueue_front",
    "evaluate_baselines",
    "evolve",
    "export_policy",
    "final_policy",
    "load_data",
    "load_predictor",
    "load_study_file",
    "make_augment_objective",
    "make_augment_sampler",
    "make_objective",
    "make_sampler",
    "open_storage",
    "open_study",
    "parse_study",
    "parse_sweep",
    "run_study",
    "study_kind_of",
    "sweep",
    "write_front",
]
