"""``optnas export`` and ``optnas report`` on studies stored the way the runner stores them.

The studies are made with the runner's own ``open_study`` (same study attributes) and objectives
that record trials exactly like the real ones (``space.suggest``, exact cost, ``record``, the
sampler's stage/batch/predicted attributes), but with a deterministic accuracy instead of
training, so every expected number is known. The real pipeline (training included) is covered
by ``test_dashboard.py``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from optnas import ConfigError
from optnas.cli import main
from optnas.constraints import record
from optnas.cost import count
from optnas.space import Arch, Recipe
from optnas.studies import best_feasible, open_storage, open_study, parse_study
from optnas.studies._export import export_study, infer_num_classes, load_existing_study
from optnas.studies._report import build_report, random_search_expectation, write_pngs, write_report

MAX_MACS = 0.45e6
BATCH = 4


def _nas_config(kind: str = "jointnas") -> Any:
    data: dict[str, Any] = {
        "study": {"kind": kind, "name": "nas", "seed": 0},
        "dataset": {"name": "digits"},
        "space": {"preset": "digits"},
        "constraints": {"max_macs": MAX_MACS},
        "sampler": {"batch_size": BATCH, "n_batches": 3},
    }
    return parse_study(data)


def _accuracy(macs: int, lr: float) -> float:
    return round(0.5 + 0.4 * macs / MAX_MACS - 0.01 * abs(math.log10(lr) + 1.5), 6)


def make_nas_study(url: str, n: int = 12, *, predicted: bool = True) -> optuna.Study:
    """A JointNAS study of ``n`` trials (random proposals, deterministic accuracies)."""
    config = _nas_config()
    study = open_study(config, open_storage(url), "nas", optuna.samplers.RandomSampler(seed=3))

    def objective(trial: optuna.Trial) -> float:
        arch, recipe = config.space.suggest(trial)
        batch = trial.number // BATCH
        trial.set_user_attr("stage", "stage1")
        trial.set_user_attr("batch", batch)
        trial.set_user_attr("slot", trial.number % BATCH)
        cost = count(arch, 10)
        acc = _accuracy(cost.macs, recipe.lr)
        trial.set_user_attr("predicted_accuracy", round(0.9 * acc, 6) if predicted and batch > 0 else None)
        trial.set_user_attr("arch", str(arch))
        trial.set_user_attr("recipe", recipe.to_dict())
        if not record(trial, config.constraints, cost):
            trial.set_user_attr("trained", False)
            return 0.0
        trial.set_user_attr("trained", True)
        for epoch in (1, 2):
            trial.report(acc * epoch / 2, epoch)
        return acc

    study.optimize(objective, n_trials=n)
    study.set_user_attr("early_stopping_epochs", 2)
    return study


@pytest.fixture
def nas_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    make_nas_study(url)
    return url


def _trained(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.state.name == "COMPLETE" and t.user_attrs.get("trained")]


# --- export ---------------------------------------------------------------------------------------------------------
def test_export_writes_best_arch_recipe_model(nas_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export"
    assert main(["export", "--storage", nas_url, "--study-name", "nas", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == sorted(
        ["arch.txt", "recipe.json", "best.json", "model.py", "SUMMARY.md"]
    )
    study = optuna.load_study(study_name="nas", storage=nas_url)
    trained = _trained(study)
    assert any(not t.user_attrs["trained"] for t in study.trials)  # the fixture has infeasible candidates
    best = max(trained, key=lambda t: (t.value, -t.number))
    assert (out / "arch.txt").read_text() == best.user_attrs["arch"] + "\n"
    assert json.loads((out / "recipe.json").read_text()) == best.user_attrs["recipe"]
    meta = json.loads((out / "best.json").read_text())
    assert meta["trial"] == best.number and meta["accuracy"] == best.value
    assert meta["num_classes"] == 10 and meta["macs"] == best.user_attrs["macs"] <= MAX_MACS
    assert meta["constraints"] == [{"metric": "macs", "limit": MAX_MACS}]

    # model.py imports on its own and rebuilds exactly the network optnas.models.build makes.
    import torch

    from optnas.models import build

    spec = importlib.util.spec_from_file_location("exported_model", out / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.make_model(seed=5).eval()
    assert sum(p.numel() for p in model.parameters()) == best.user_attrs["params"]
    reference = build(Arch.parse(best.user_attrs["arch"]), Recipe(**best.user_attrs["recipe"]), 10, seed=5).eval()
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert k1 == k2 and torch.equal(v1, v2)
    res = module.RESOLUTION
    with torch.no_grad():
        assert model(torch.zeros(2, 3, res, res)).shape == (2, 10)

    summary = (out / "SUMMARY.md").read_text()
    assert "kind: **jointnas**" in summary and "macs <= 450,000" in summary
    assert "early-stopping budget (FBNetV3 Sec. 3.1): 2 epochs" in summary
    ranked = best_feasible(study, k=5)
    rows = [line for line in summary.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [int(r.split("|")[2]) for r in rows] == [t.number for t in ranked]


@pytest.mark.parametrize("num_classes", [1, 10, 100, 1000])
def test_infer_num_classes_inverts_the_exact_count(num_classes: int) -> None:
    arch = Arch.parse("res16 stem_k3_s1_c8_hs ir_k3_e1_c16_hs ir_k5_e4_c24_s2_n2_se_hs head_c64_hs")
    assert infer_num_classes(arch, count(arch, num_classes).params) == num_classes
    with pytest.raises(ConfigError, match="does not match"):
        infer_num_classes(arch, count(arch, num_classes).params + 1)


def test_export_errors_write_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    config = _nas_config()
    empty = open_study(config, open_storage(url), "empty", optuna.samplers.RandomSampler(seed=0))
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="--study-name='empty': has no completed feasible trial"):
        export_study(empty, out)
    with pytest.raises(ConfigError, match="has no completed trial to report on"):
        write_report(empty, out, png=False)
    assert not out.exists()
    foreign = optuna.create_study(study_name="plain", storage=url)
    with pytest.raises(ConfigError, match="is not an optnas study"):
        export_study(foreign, out)
    with pytest.raises(ConfigError, match="--study-name='nope': no such study"):
        load_existing_study(url, "nope")
    missing = tmp_path / "missing.db"
    with pytest.raises(ConfigError, match="no such SQLite file"):
        load_existing_study(f"sqlite:///{missing}", "nas")
    assert not missing.exists() and not out.exists()


def test_export_corrupted_arch_attr_is_one_line_cli_error(
    nas_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = optuna.load_study(study_name="nas", storage=nas_url)
    best = best_feasible(study, 1)[0]
    # A finished trial cannot be updated through Optuna: corrupt the row directly.
    with sqlite3.connect(nas_url[len("sqlite:///") :]) as db:
        db.execute(
            "UPDATE trial_user_attributes SET value_json = ? WHERE trial_id = ? AND key = 'arch'",
            (json.dumps("res16 stem_k3_s1_c8_hs ir_bogus"), best._trial_id),
        )
    out = tmp_path / "out"
    assert main(["export", "--storage", nas_url, "--study-name", "nas", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optnas: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert f"trial {best.number} user attrs" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("recipe", {"lr": 0.1, "warp_speed": 9}, "user attrs recipe.warp_speed=9: not a Recipe field"),
        ("recipe", [0.1], "user attrs recipe=[0.1]: must be an object of Recipe fields"),
        ("recipe", {"lr": "fast"}, "user attrs recipe.lr='fast': must be a positive number"),
        ("params", "many", "user attrs params='many': must be a positive integer"),
    ],
)
def test_export_corrupted_recipe_or_params_names_the_attribute(
    key: str, value: Any, expected: str, nas_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stored attributes are checked key by key (no ``TypeError`` caught from ``Recipe(**stored)``)."""
    study = optuna.load_study(study_name="nas", storage=nas_url)
    best = best_feasible(study, 1)[0]
    with sqlite3.connect(nas_url[len("sqlite:///") :]) as db:
        db.execute(
            "UPDATE trial_user_attributes SET value_json = ? WHERE trial_id = ? AND key = ?",
            (json.dumps(value), best._trial_id, key),
        )
    out = tmp_path / "out"
    assert main(["export", "--storage", nas_url, "--study-name", "nas", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"optnas: error: trial {best.number} {expected}") and err.count("\n") == 1, err
    assert not out.exists()


# --- report ---------------------------------------------------------------------------------------------------------
def test_random_search_expectation_exact_and_statistical() -> None:
    got = random_search_expectation([3.0, 1.0, 2.0], 3)
    np.testing.assert_allclose(got, [2.0, 22 / 9, 1 * 1 / 27 + 2 * 7 / 27 + 3 * 19 / 27])
    values = np.array([0.1, 0.4, 0.45, 0.7, 0.72, 0.9])
    rng = np.random.default_rng(0)
    draws = rng.choice(values, size=(20000, 4), replace=True).max(axis=1)
    expected = random_search_expectation(values, 4)[-1]
    stderr = draws.std() / math.sqrt(len(draws))
    assert abs(draws.mean() - expected) < 4 * stderr
    with pytest.raises(ConfigError):
        random_search_expectation([], 2)


def test_report_figures_note_and_dashboard_attrs(nas_url: str, tmp_path: Path) -> None:
    from optuna_dashboard import get_note
    from scipy.stats import kendalltau

    study = optuna.load_study(study_name="nas", storage=nas_url)
    out = tmp_path / "report"
    written = write_report(study, out, storage_url=nas_url, png=False)
    names = sorted(p.name for p in written)
    assert names == sorted(["best_so_far.html", "accuracy_vs_macs.html", "predictor_calibration.html", "SUMMARY.md"])
    assert (out / "plotly.min.js").is_file()  # shared by the HTML files; no network needed to view them
    note = (out / "SUMMARY.md").read_text()
    assert get_note(optuna.load_study(study_name="nas", storage=nas_url)) == note
    assert "Kendall tau = 1.000" in note  # predicted = 0.9 * measured ranks perfectly

    report = build_report(study)
    trained = _trained(study)
    values = [float(t.value or 0.0) for t in trained]
    best_so_far = next(tr for tr in report.figures["best_so_far"].data if tr.name == "best so far")
    np.testing.assert_allclose(best_so_far.y, np.maximum.accumulate(values))
    batch0 = [float(t.value or 0.0) for t in trained if t.user_attrs["batch"] == 0]
    expected = next(tr for tr in report.figures["best_so_far"].data if tr.name.startswith("random search"))
    np.testing.assert_allclose(expected.y, random_search_expectation(batch0, len(trained)))
    assert "space-filling batch 0" in expected.name

    macs_fig = report.figures["accuracy_vs_macs"]
    assert [s.x0 for s in macs_fig.layout.shapes if s.type == "line"] == [MAX_MACS / 1e6]
    infeasible = next(tr for tr in macs_fig.data if tr.name == "infeasible (not trained)")
    assert all(x > MAX_MACS / 1e6 for x in infeasible.x)
    front = next(tr for tr in macs_fig.data if tr.name == "Pareto front")
    assert front.y[-1] == max(values) and list(front.x) == sorted(front.x)

    predicted = [t for t in trained if t.user_attrs["predicted_accuracy"] is not None]
    tau = kendalltau([t.user_attrs["predicted_accuracy"] for t in predicted], [t.value for t in predicted]).statistic
    assert report.tau == pytest.approx(tau) == pytest.approx(1.0)

    def plot_keys() -> list[str]:  # the dashboard stores each figure in chunks under its id
        attrs = study._storage.get_study_system_attrs(study._study_id)
        return sorted(k for k in attrs if "optnas-" in k)

    plots = plot_keys()
    assert {k.split("optnas-")[1].split(":")[0] for k in plots} == set(report.figures)
    write_report(study, out, png=False)  # re-running replaces the dashboard plots, does not add more
    assert plot_keys() == plots


def test_report_without_predictions_skips_calibration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'np.db'}"
    study = make_nas_study(url, n=4, predicted=False)
    report = build_report(study)
    assert "predictor_calibration" not in report.figures and report.tau is None
    assert "predictor_calibration" in report.skipped


def test_png_export_and_fallback(nas_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import plotly.io as pio

    study = optuna.load_study(study_name="nas", storage=nas_url)
    report = build_report(study)
    paths, why = write_pngs({"best_so_far": report.figures["best_so_far"]}, tmp_path)
    if why is not None:
        pytest.skip(f"kaleido cannot render here: {why}")
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Chrome not found\nsecond line")

    monkeypatch.setattr(pio, "write_images", broken)
    messages: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            messages.append(text)

    out = tmp_path / "fallback"
    written = write_report(study, out, png=True, dashboard=False, stream=Stream())
    assert not list(out.glob("*.png")) and (out / "best_so_far.html").is_file()
    assert "".join(messages).strip() == (
        "optnas: PNG export unavailable (RuntimeError: Chrome not found); wrote HTML only"
    )
    assert all(p.suffix != ".png" for p in written)


# --- augmentation kinds ---------------------------------------------------------------------------------------------
def _aug_study(url: str, kind: str) -> optuna.Study:
    from optnas.augment import suggest_policy
    from optnas.studies._augment_kinds import M_PARAM, N_PARAM

    config = parse_study(
        {"study": {"kind": kind, "name": kind}, "dataset": {"name": "digits", "subset": 100}, "train": {"epochs": 1}}
    )
    if kind == "autoaugment":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed=1)
    else:
        sampler = optuna.samplers.GridSampler({N_PARAM: [1, 2], M_PARAM: [5, 9]}, seed=1)
    study = open_study(config, open_storage(url), kind, sampler)

    def objective(trial: optuna.Trial) -> float:
        if kind == "autoaugment":
            suggest_policy(trial)
            return 0.5 + 0.01 * trial.number
        n = trial.suggest_categorical(N_PARAM, [1, 2])
        m = trial.suggest_categorical(M_PARAM, [5, 9])
        return 0.5 + 0.1 * n + 0.01 * m

    study.optimize(objective, n_trials=7 if kind == "autoaugment" else 4)
    study.set_user_attr("baseline:none", {"val_accuracy": 0.55})
    return study


def test_autoaugment_export_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from optnas.augment import Policy
    from optnas.studies._policies import final_policy

    url = f"sqlite:///{tmp_path / 'aa.db'}"
    study = _aug_study(url, "autoaugment")
    out = tmp_path / "aa"
    assert main(["export", "--storage", url, "--study-name", "autoaugment", "--out", str(out)]) == 0
    names = sorted(Path(p).name for p in capsys.readouterr().out.split())
    assert names == sorted(["albumentations.json", "policy.json", "examples.png", "SUMMARY.md"])
    document = json.loads((out / "policy.json").read_text())
    assert document["source"] == {"study": "autoaugment", "trials": [6, 5, 4, 3, 2]}
    policy = Policy.from_dict(document)
    assert policy == final_policy(study, top=5) and len(policy.subpolicies) == 25
    assert "Final policy: 25 sub-policies from the top 5 policies." in (out / "SUMMARY.md").read_text()

    report = build_report(study)
    bars = report.figures["op_frequencies"].data[0]
    assert sum(bars.y) == 50 and list(bars.y) == sorted(bars.y, reverse=True)
    counts: dict[str, int] = {}
    for sp in policy.subpolicies:
        for op in sp.ops:
            counts[op.name] = counts.get(op.name, 0) + 1
    assert dict(zip(bars.x, bars.y, strict=True)) == counts
    baseline = [a for a in report.figures["best_so_far"].layout.annotations if "baseline:none" in a.text]
    assert len(baseline) == 1 and "0.5500" in baseline[0].text
    expected = next(tr for tr in report.figures["best_so_far"].data if tr.name.startswith("random search"))
    assert "first 2 trials" in expected.name  # ceil(7 / 4) early trials as the reference


def test_randaugment_grid_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ra.db'}"
    study = _aug_study(url, "randaugment")
    report = build_report(study)
    heat = report.figures["grid"].data[0]
    assert list(heat.y) == ["1", "2"] and list(heat.x) == ["5", "9"]
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), [[0.65, 0.69], [0.75, 0.79]])
    assert "Best RandAugment setting: `(2, 9)`" in report.summary


def test_report_without_optuna_dashboard_still_writes(
    nas_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # import fails as if not installed
    study = optuna.load_study(study_name="nas", storage=nas_url)
    messages: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            messages.append(text)

    written = write_report(study, tmp_path / "r", png=False, stream=Stream())
    assert (tmp_path / "r" / "SUMMARY.md") in written
    assert "".join(messages).startswith("optnas: note not attached: ")
    assert not any("optnas-" in k for k in study._storage.get_study_system_attrs(study._study_id))
