"""The name of the objective every optnas study reports: ``val_accuracy``.

Optuna 5 stores objective names with the study (``Study.set_metric_names``, experimental since
Optuna 3.2), and optuna-dashboard shows them instead of "Objective 0". Every study kind returns
the validation accuracy of the trained network (JointNAS/AutoTrain: the candidate; AutoAugment and
RandAugment: the child), so one name serves all of them.
"""

from __future__ import annotations

import warnings

import optuna

__all__ = ["METRIC_NAME", "name_objective"]

#: The objective's name in storage and in optuna-dashboard.
METRIC_NAME = "val_accuracy"


def name_objective(study: optuna.Study) -> None:
    """Name the study's objective :data:`METRIC_NAME` unless it already has that name.

    A study resumed from storage keeps its name; one created before optnas named objectives (or
    created from Python without a name) gets it here. Writing the same names from several
    workers at once is harmless.
    """
    if study.metric_names == [METRIC_NAME]:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([METRIC_NAME])
