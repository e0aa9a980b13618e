"""Bad input to the ``optnas`` commands: one clear line naming the field, exit status 2, no
traceback, and nothing written to storage (issue 7, "Bad input")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection

from optnas.cli import main

BASE = """
[study]
kind = "jointnas"
name = "s"
seed = 0

[dataset]
name = "digits"
subset = 100

[space]
preset = "digits"

[constraints]
max_macs = 1.0e6

[sampler]
batch_size = 2
n_batches = 1
final_batch_size = 0
pool_size = 16

[train]
epochs = 1
"""


def _replace(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


# (case id, study file text, extra arguments, text the one-line error must contain)
RUN_CASES = [
    ("unknown-kind", _replace('kind = "jointnas"', 'kind = "nas"'), [], "study.kind='nas': unknown study kind"),
    ("unknown-preset", _replace('preset = "digits"', 'preset = "huge"'), [], "space.preset='huge': unknown preset"),
    (
        "int-range-min-gt-max",
        BASE + "\n[space.overrides]\ng1_c = [32, 16]\n",
        [],
        "space.overrides.g1_c=[32, 16]: min > max",
    ),
    (
        "float-range-min-gt-max",
        BASE + "\n[space.overrides]\nlr = {low = 0.1, high = 0.01, log = true}\n",
        [],
        "space.overrides.lr=",
    ),
    (
        "unknown-constraint-metric",
        _replace("max_macs = 1.0e6", "max_flops = 1.0e6"),
        [],
        "constraints.max_flops=1000000.0: unknown metric",
    ),
    ("zero-epochs", _replace("epochs = 1", "epochs = 0"), [], "train.epochs=0: must be a positive integer"),
    ("negative-n-trials", BASE, ["--n-trials", "-3"], "--n-trials=-3: must be a positive integer"),
    ("zero-n-trials-file", _replace("seed = 0", "seed = 0\nn_trials = 0"), [], "study.n_trials=0"),
    ("zero-timeout", BASE, ["--timeout", "0"], "--timeout=0.0: must be a positive number"),
    ("zero-constraint", _replace("max_macs = 1.0e6", "max_macs = 0"), [], "max_macs=0: must be > 0"),
    (
        "zero-batch-size",
        _replace("batch_size = 2", "batch_size = 0"),
        [],
        "sampler.batch_size=0: must be a positive integer",
    ),
    ("negative-subset", _replace("subset = 100", "subset = -5"), [], "dataset.subset=-5"),
    (
        "missing-dataset-path",
        _replace('name = "digits"', 'name = "imagefolder"\nroot = "/nonexistent/optnas/data"'),
        [],
        "dataset.root='/nonexistent/optnas/data': directory does not exist",
    ),
    (
        "unsatisfiable-constraint",
        _replace("max_macs = 1.0e6", "max_macs = 10"),
        [],
        "max_macs=10: no candidate of the space can meet it: the smallest achievable macs is",
    ),
]


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("optnas: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("text", "extra", "expected"), [c[1:] for c in RUN_CASES], ids=[c[0] for c in RUN_CASES])
def test_run_bad_input_is_one_line_and_writes_nothing(
    text: str, extra: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study_file = tmp_path / "study.toml"
    study_file.write_text(text)
    db = tmp_path / "s.db"
    assert main(["run", str(study_file), "--storage", f"sqlite:///{db}", *extra]) == 2
    assert expected in _one_line_error(capsys)
    assert not db.exists()
    assert not (tmp_path / "s_artifacts").exists()


def test_unreachable_storage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study_file = tmp_path / "study.toml"
    study_file.write_text(BASE)
    url = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
    assert main(["run", str(study_file), "--storage", url]) == 2
    assert f"storage={url!r}: cannot open the storage" in _one_line_error(capsys)
    for command in ("export", "report"):
        assert main([command, "--storage", url, "--study-name", "s", "--out", str(tmp_path / command)]) == 2
        assert "cannot open the storage" in _one_line_error(capsys)
        assert not (tmp_path / command).exists()


@pytest.mark.parametrize(
    ("kind", "direction", "expected"),
    [
        ("randaugment", "maximize", "--study-name='s': exists with kind 'randaugment', not 'jointnas'"),
        ("jointnas", "minimize", "--study-name='s': exists with direction minimize"),
    ],
)
def test_existing_study_with_other_kind_or_direction(
    kind: str, direction: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    other = optuna.create_study(study_name="s", storage=url, direction=StudyDirection[direction.upper()])
    other.set_user_attr("optnas:kind", kind)
    before = {k: v for k, v in other.user_attrs.items()}
    study_file = tmp_path / "study.toml"
    study_file.write_text(BASE)
    assert main(["run", str(study_file), "--storage", url]) == 2
    assert expected in _one_line_error(capsys)
    (summary,) = optuna.get_all_study_summaries(url, include_best_trial=False)
    assert summary.study_name == "s" and summary.n_trials == 0 and summary.user_attrs == before
    assert summary.direction.name.lower() == direction


@pytest.mark.parametrize("command", ["export", "report"])
def test_export_report_unknown_or_empty_study(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.db"
    out = tmp_path / "out"
    assert main([command, "--storage", f"sqlite:///{missing}", "--study-name", "s", "--out", str(out)]) == 2
    assert "no such SQLite file" in _one_line_error(capsys)
    assert not missing.exists()

    url = f"sqlite:///{tmp_path / 'e.db'}"
    empty = optuna.create_study(study_name="empty", storage=url, direction="maximize")
    empty.set_user_attr("optnas:kind", "jointnas")
    assert main([command, "--storage", url, "--study-name", "nope", "--out", str(out)]) == 2
    assert "--study-name='nope': no such study in sqlite:///" in _one_line_error(capsys)
    assert main([command, "--storage", url, "--study-name", "empty", "--out", str(out)]) == 2
    assert "--study-name='empty': has no completed" in _one_line_error(capsys)
    assert not out.exists()
    assert [s.study_name for s in optuna.get_all_study_summaries(url, include_best_trial=False)] == ["empty"]


def test_corrupted_policy_in_study_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A policy that does not parse: stored in an AutoAugment study (export) or as JSON (augment show)."""
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import create_trial
    from PIL import Image

    from optnas.augment._suggest import param_names

    url = f"sqlite:///{tmp_path / 'aa.db'}"
    study = optuna.create_study(study_name="aa", storage=url, direction="maximize")
    study.set_user_attr("optnas:kind", "autoaugment")
    params: dict[str, object] = {}
    dists: dict[str, BaseDistribution] = {}
    for i, (t, p, m) in enumerate(param_names(5)):
        params.update({t: "Rotate" if i else "Rotat", p: 5, m: 3})
        dists.update(
            {
                t: CategoricalDistribution(["Rotate" if i else "Rotat"]),
                p: CategoricalDistribution(list(range(11))),
                m: CategoricalDistribution(list(range(10))),
            }
        )
    study.add_trial(create_trial(params=params, distributions=dists, value=0.5))
    out = tmp_path / "out"
    assert main(["export", "--storage", url, "--study-name", "aa", "--out", str(out)]) == 2
    assert "sp0_op0_type" in _one_line_error(capsys) and not out.exists()

    image = tmp_path / "x.png"
    Image.new("RGB", (16, 16), (120, 30, 200)).save(image)
    bad = tmp_path / "policy.json"
    good = {"format": "optnas.augment.policy", "version": 1, "subpolicies": [[{"op": "Rotate", "prob": 1.0}]]}
    bad.write_text(json.dumps(good)[:-7])  # truncated file
    grid = tmp_path / "grid.png"
    assert main(["augment", "show", str(bad), "--image", str(image), "--out", str(grid)]) == 2
    assert "invalid JSON" in _one_line_error(capsys) and not grid.exists()


def test_console_script_exit_status_and_no_traceback(tmp_path: Path) -> None:
    """The real process: exit status 2 and exactly one stderr line."""
    study_file = tmp_path / "study.toml"
    study_file.write_text(_replace('kind = "jointnas"', 'kind = "nas"'))
    db = tmp_path / "s.db"
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "optnas", "run", str(study_file), "--storage", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("optnas: error: study.kind='nas'") and proc.stderr.count("\n") == 1
    assert proc.stdout == "" and not db.exists()
