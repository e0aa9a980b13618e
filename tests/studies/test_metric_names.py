"""Issue 15: studies optnas creates name their objective ``val_accuracy`` (not "Objective 0")."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from optnas.studies import open_storage, open_study, parse_study
from optnas.studies._kinds import KINDS
from optnas.studies._metric import METRIC_NAME, name_objective


@pytest.mark.parametrize("kind", KINDS)
def test_created_study_names_its_objective(kind: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    table: dict[str, object] = {"study": {"kind": kind, "name": "s"}, "dataset": {"name": "digits"}}
    if kind == "autotrain":  # the one kind that needs a fixed architecture
        table["space"] = {"arch": "res8 stem_k3_s1_c8_hs ir_k3_e1_c8_hs head_c32_hs"}
    config = parse_study(table)
    study = open_study(config, open_storage(url), "s", optuna.samplers.RandomSampler(seed=0))
    assert study.metric_names == [METRIC_NAME] == ["val_accuracy"]
    assert optuna.load_study(study_name="s", storage=url).metric_names == ["val_accuracy"]  # stored
    resumed = open_study(config, open_storage(url), "s", optuna.samplers.RandomSampler(seed=0))
    assert resumed.metric_names == ["val_accuracy"]


def test_name_objective_on_a_python_study() -> None:
    study = optuna.create_study(direction="maximize")
    assert study.metric_names is None
    name_objective(study)
    name_objective(study)  # idempotent
    assert study.metric_names == ["val_accuracy"]
