"""Issue 15: study-file errors name the full key path, and nothing a file says is silently dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from optnas import ConfigError
from optnas.cli import main
from optnas.studies import parse_study
from optnas.studies._kinds import REGISTRY, StudyKind

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
        ({"study": {"kind": "jointnas"}, "space": {"preset": "huge"}}, "space.preset='huge': unknown preset"),
        (_jointnas(space={"fixed": {"resolution": 99}}), "space.fixed.resolution=99: outside [8, 16]"),
        (_jointnas(space={"fixed": {"nope": 1}}), "space.fixed.nope=1: unknown dimension; expected one of ["),
        (_jointnas(space={"fixed": {"lr": "x"}}), "space.fixed.lr='x': must be a number, got a string"),
        (_jointnas(space={"fixed": {"lr": True}}), "space.fixed.lr=True: must be a number, got a boolean"),
        (_jointnas(space={"fixed": {"g1_c": [16]}}), "space.fixed.g1_c=[16]: must be an integer, got a list"),
        (_jointnas(space={"fixed": {"g1_c": 17}}), "space.fixed.g1_c=17: not on the grid 16..32 step 8"),
        (_jointnas(space={"fixed": {"ema": 1}}), "space.fixed.ema=1: must be one of [True, False], got an integer"),
        (_jointnas(space={"fixed": {"optimizer": "sgdd"}}), "space.fixed.optimizer='sgdd': must be one of ['sgd', "),
        (
            _jointnas(space={"overrides": {"lr": {"low": "a", "high": 0.1}}}),
            "space.overrides.lr.low='a': must be a number, got a string",
        ),
        (
            _jointnas(space={"overrides": {"g1_c": {"low": 16, "high": 32, "step": "8"}}}),
            "space.overrides.g1_c.step='8': must be a positive integer, got a string",
        ),
        (
            _jointnas(space={"overrides": {"lr": {"low": 0.01, "high": 0.1, "log": 1}}}),
            "space.overrides.lr.log=1: must be true or false, got an integer",
        ),
    ],
)
def test_errors_name_the_full_key_path(data: dict[str, Any], expected: str) -> None:
    assert _error(data).startswith(expected)


@pytest.mark.parametrize("kind", list(REGISTRY.values()), ids=list(REGISTRY))
def test_search_ranges_apply_only_where_the_space_is_searched(kind: StudyKind) -> None:
    """``[space.overrides]`` of an augmentation study (one fixed child) is an error, never silently unused."""
    data: dict[str, Any] = {
        "study": {"kind": kind.name},
        "space": {"overrides": {"lr": [0.01, 0.2]}},
    }
    if kind.arch == "required":
        data["space"]["arch"] = "mobilenet_v2"
    if kind.searches_space:
        config = parse_study(data)
        assert config.space.recipe.lr.low == 0.01 and config.space.recipe.lr.high == 0.2
        return
    with pytest.raises(ConfigError) as info:
        parse_study(data)
    assert (info.value.field, info.value.value) == ("space.overrides.lr", [0.01, 0.2])
    assert "fixed child network" in info.value.reason and "[space.fixed]" in info.value.reason


@pytest.mark.parametrize("kind", ["autoaugment", "randaugment"])
def test_space_overrides_in_an_augmentation_study_file_are_one_line_errors(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_file = tmp_path / "study.toml"
    text = AUGMENT_FILE.format(kind=kind).replace("[constraints]\nmax_macs = 1\n", "")
    study_file.write_text(text + "\n[space.overrides]\ng1_c = [16, 32, 8]\n")
    db = tmp_path / "s.db"
    assert main(["run", str(study_file), "--storage", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optnas: error: space.overrides.g1_c=[16, 32, 8]: ") and err.count("\n") == 1, err
    assert not db.exists()


def test_fixed_values_still_choose_the_augmentation_child() -> None:
    """``[space.fixed]`` is the way to shape the child network and its recipe."""
    from optnas.studies._augment_child import child_arch, child_recipe

    smallest = parse_study({"study": {"kind": "randaugment"}})
    assert " ir_k3_e2_c16_s2_se_hs " in str(child_arch(smallest.space, 8))  # g1_c at its low end, 16
    config = parse_study({"study": {"kind": "randaugment"}, "space": {"fixed": {"g1_c": 32, "lr": 0.1}}})
    assert " ir_k3_e2_c32_s2_se_hs " in str(child_arch(config.space, 8))
    assert child_recipe(config).lr == 0.1


def test_a_list_overrides_a_categorical_dimensions_choices_kernel_sizes_too() -> None:
    """``g1_k = [3, 5]`` was read as the integer range 3..5 and rejected: kernel choices could not be set."""
    from optnas.space import Choice

    config = parse_study(_jointnas(space={"overrides": {"g1_k": [3, 5], "optimizer": ["adamw"]}}))
    specs = {d.name: d.spec for d in config.space.all_dims}
    assert specs["g1_k"] == Choice((3, 5)) and specs["optimizer"] == Choice(("adamw",))
    assert _error(_jointnas(space={"overrides": {"g1_k": [3, "5"]}})).startswith(
        "space.overrides.g1_k[1]='5': must be an integer, got a string"
    )
    assert _error(_jointnas(space={"overrides": {"g1_k": [4]}})).startswith(
        "space.overrides.g1_k=[4]: kernel sizes must be positive odd integers"
    )
