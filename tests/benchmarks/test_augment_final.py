"""benchmarks/augment_final.py runs its searches from the shipped study files, checked against its setting."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import augment_final as af
from benchmarks.augment_regime import CHILD, Setting

SEARCH = Setting(epochs=20, arch=af.WIDE_CHILD)
SMALL = replace(SEARCH, arch=CHILD)
STUDIES = af.PPO_FILE.parent
DATA = af.PPO_FILE.parents[1] / ".." / "shared" / "data" / "cifar10"
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason="the study files name ../shared/data/cifar10 (the reduced CIFAR-10 copy), absent here"
)


@pytest.mark.parametrize(
    ("path", "setting"),
    [
        (af.RA_FILE, SEARCH),
        (af.PPO_FILE, SEARCH),
        (STUDIES / "randaugment_cifar10_regime.toml", SMALL),
        (STUDIES / "autoaugment_cifar10_regime.toml", SMALL),
    ],
    ids=lambda p: p.name if isinstance(p, Path) else "",
)
def test_shipped_search_files_match_the_comparisons_setting(path: Path, setting: Setting) -> None:
    config = af.study_config(path, setting)
    assert config.seed == setting.data_seed
    assert dict(config.dataset)["subset"] == setting.train_size


def test_the_default_files_search_the_wide_child_and_not_the_small_one() -> None:
    assert af.RA_FILE.name == "randaugment_cifar10_wide.toml"
    with pytest.raises(SystemExit, match=r"space\.arch is 'res32 stem_k3_s1_c16_hs"):
        af.study_config(af.PPO_FILE, SMALL)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("epochs = 20", "epochs = 30", "augment.recipe"),
        ("subset = 1000", "subset = 2000", "dataset.subset"),
        ("lr = 0.05", "lr = 0.1", "augment.recipe"),
    ],
)
def test_a_drifted_study_file_is_an_error_naming_the_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = af.PPO_FILE.read_text(encoding="utf-8")
    assert old in text
    root = DATA
    drifted = tmp_path / "drifted.toml"
    drifted.write_text(text.replace(old, new).replace('"../shared/data/cifar10"', f'"{root.resolve()}"'))
    with pytest.raises(SystemExit, match=field.replace(".", r"\.")):
        af.study_config(drifted, SEARCH)


def test_a_rewritten_report_keeps_the_runs_date_and_names_the_run_not_the_rewrite(tmp_path: Path) -> None:
    import json

    argv = ["--stages", "baselines", "--seeds", "0", "--out", str(tmp_path), "--report-dir", str(tmp_path)]
    argv += ["--name", "probe"]
    assert af.main([*argv, "--report-only"]) == 0
    meta = json.loads((tmp_path / "probe.json").read_text())["meta"]
    assert "--report-only" not in meta["command"] and meta["command"].endswith("--name probe")
    assert meta["status"] == "partial" and meta["runs_file"].endswith("augment_runs.jsonl")
    # the report of a run made earlier: its date, load and commit survive a rewrite
    saved = {**meta, "date": "2026-01-02T03:04:05+00:00", "load_average": 1.5, "git_commit": "abc", "command": "old"}
    (tmp_path / "probe.json").write_text(json.dumps({"schema": 1, "meta": saved, "result": {}}))
    assert af.main([*argv, "--report-only"]) == 0
    again = json.loads((tmp_path / "probe.json").read_text())["meta"]
    assert (again["date"], again["load_average"], again["git_commit"]) == ("2026-01-02T03:04:05+00:00", 1.5, "abc")
    assert again["earlier_commands"] == [{"command": "old", "date": "2026-01-02T03:04:05+00:00"}]
    assert again["report_rewritten"] != again["date"]
    assert "Date (UTC): 2026-01-02T03:04:05+00:00" in (tmp_path / "probe.md").read_text()
