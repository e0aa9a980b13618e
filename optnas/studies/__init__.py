"""Study files, objectives and the run loop behind ``optnas run``."""

from optnas.studies._augment_kinds import evaluate_baselines, make_augment_objective, make_augment_sampler
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
    "JointNASObjective",
    "StudyConfig",
    "best_feasible",
    "best_randaugment",
    "evaluate_baselines",
    "export_policy",
    "final_policy",
    "load_data",
    "load_study_file",
    "make_augment_objective",
    "make_augment_sampler",
    "make_objective",
    "make_sampler",
    "open_storage",
    "open_study",
    "parse_study",
    "run_study",
]
