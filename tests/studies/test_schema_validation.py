"""Issue 15: study-file errors name the full key path, and nothing a file says is silently dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from optnas import ConfigError
from optnas.cli import main
from optnas.studies import parse_study

AUGMENT_FILE = """
[study]
kind = "{kind}"
name = "s"

[dataset]
name = "digits"
subset = 100

[constraints]
max_macs = 1

[train]
epochs = 1
"""


@pytest.mark.parametrize("kind", ["autoaugment", "randaugment"])
def test_constraints_in_an_augmentation_study_are_rejected(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_file = tmp_path / "study.toml"
    study_file.write_text(AUGMENT_FILE.format(kind=kind))
    db = tmp_path / "s.db"
    assert main(["run", str(study_file), "--storage", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optnas: error: constraints.max_macs=1: ") and err.count("\n") == 1, err
    assert "fixed child network" in err
    assert not db.exists()


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_study(data)
    return str(info.value)


def _jointnas(**sections: dict[str, Any]) -> dict[str, Any]:
    return {"study": {"kind": "jointnas"}, **sections}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_jointnas(constraints={"max_macs": -1}), "constraints.max_macs=-1: must be > 0"),
        (_jointnas(constraints={"max_params": "5e4"}), "constraints.max_params='5e4': must be a number, got a string"),
        (_jointnas(constraints={"max_macs": True}), "constraints.max_macs=True: must be a number, got a boolean"),
        (_jointnas(sampler={"ga": {"population": 0}}), "sampler.ga.population=0: must be an integer >= 1"),
        (_jointnas(sampler={"ga": {"population": 2.5}}), "sampler.ga.population=2.5: must be an integer, got a number"),
        (_jointnas(sampler={"predictor": {"hidden": "x"}}), "sampler.predictor.hidden='x': "),
        (_jointnas(sampler={"batch_size": "8"}), "sampler.batch_size='8': must be a positive integer, got a string"),
        (_jointnas(sampler={"batch_size": 0}), "sampler.batch_size=0: must be a positive integer"),
        (_jointnas(train={"epochs": "3"}), "train.epochs='3': must be a positive integer, got a string"),
        (_jointnas(train={"prune": 1}), "train.prune=1: must be true or false, got an integer"),
        (_jointnas(dataset={"name": "digits", "subset": 0}), "dataset.subset=0: must be a positive integer"),
        (_jointnas(dataset={"name": "digits", "download": "yes"}), "dataset.download='yes': must be true or false"),
        ({"study": {"kind": "jointnas", "seed": -1}}, "study.seed=-1: must be a non-negative integer"),
        (
            {"study": {"kind": "jointnas", "seed": True}},
            "study.seed=True: must be a non-negative integer, got a boolean",
        ),
        ({"study": {"kind": "jointnas", "name": 3}}, "study.name=3: must be a string, got an integer"),
        ({"study": {"kind": "jointnas"}, "space": {"overrides": []}}, "space.overrides=[]: must be a table, got"),
    ],
)
def test_errors_name_the_full_key_path(data: dict[str, Any], expected: str) -> None:
    assert _error(data).startswith(expected)
