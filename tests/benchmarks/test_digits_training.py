"""The digits-train benchmark (benchmarks/digits_training.py): real training on a tiny budget."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from benchmarks import digits_training as dt

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _check_run(run: dict, trials: int) -> None:
    assert run["budget"] == trials and len(run["curve"]) == trials and len(run["trials"]) == trials
    assert [t["number"] for t in run["trials"]] == list(range(trials))
    best = [v for v in run["curve"] if v is not None]
    assert best == sorted(best) and all(0.0 <= v <= 1.0 for v in best)
    for t in run["trials"]:
        assert t["value"] is None or 0.0 <= t["value"] <= 1.0
        assert t["trained"] == t["feasible"]  # an infeasible candidate is never trained
        assert t["trained"] or t["value"] == 0.0
        assert t["macs"] is not None and t["params"]
        assert t["train_seed"] == dt.train_seed(run["seed"], t["number"])
    assert 0 <= run["n_feasible"] <= trials and run["n_trained"] == run["n_feasible"]


def test_train_seed_is_per_seed_and_trial() -> None:
    seeds = {dt.train_seed(s, n) for s in range(3) for n in range(32)}
    assert len(seeds) == 96 and all(0 <= x < 2**31 for x in seeds)
    assert dt.train_seed(1, 5) == dt.train_seed(1, 5)


def test_tiny_run_writes_resumable_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--seeds", "1", "--trials", "2", "--epochs", "1", "--samplers", "random,tpe", "--out", str(tmp_path)]
    assert dt.main(argv) == 0
    runs_dir = tmp_path / dt.RUNS_DIR
    files = sorted(p.name for p in runs_dir.glob("*.json"))
    assert files == ["batch-random-seed0.json", "batch-tpe-seed0.json"]
    for f in files:
        saved = json.loads((runs_dir / f).read_text())
        assert saved["settings"]["trials"] == 2 and saved["settings"]["epochs_override"] == 1
        assert "git_commit" in saved["code"]
        _check_run(saved["run"], 2)
    data = json.loads((tmp_path / f"{dt.NAME}.json").read_text())
    assert data["meta"]["status"] == "complete" and data["meta"]["finished_runs"] == 2
    assert data["meta"]["command"].startswith("python -m benchmarks.digits_training")
    s = data["result"]["summary"]["batch"]
    assert set(s["table"]) == {"tpe", "random"}
    for cells in s["table"].values():
        assert set(cells) == {"2"}
        c = cells["2"]
        assert c["n_seeds"] == 1 and 0.0 <= c["q1"] <= c["median"] <= c["q3"] <= 1.0
    assert s["main_job_target"]["tpe"]["n_seeds"] == 1
    assert 0.0 <= s["feasible_fraction"]["tpe"] <= 1.0 and s["train_s_per_trained"]["tpe"] >= 0.0
    md = (tmp_path / f"{dt.NAME}.md").read_text()
    assert md.startswith("# Search quality: digits, real training") and "Main-job target" in md
    # resumed: the finished runs are skipped, not retrained
    before = {f: (runs_dir / f).stat().st_mtime_ns for f in files}
    capsys.readouterr()
    assert dt.main(argv) == 0
    assert "2 runs saved, 0 to do" in capsys.readouterr().out
    assert {f: (runs_dir / f).stat().st_mtime_ns for f in files} == before
    # other settings do not reuse them
    assert dt.load_runs(runs_dir, {**saved["settings"], "trials": 3}) == []


@pytest.mark.slow
def test_jointnas_run_records_its_batches() -> None:
    ctx = dt.Context.load(epochs=1)
    run = dt.one_run(ctx, "jointnas", 0, "batch", 16)
    _check_run(run, 16)
    assert [t["jointnas_batch"] for t in run["trials"]] == [0] * 8 + [1] * 8
    target = dt.summarize([run], 16)["batch"]["main_job_target"]["jointnas"]
    assert target["n_seeds"] == 1 and target["beats"] in (0, 1)


@pytest.mark.slow
def test_jointnas_sequential_rows_are_checked_then_copied(tmp_path: Path) -> None:
    """Seed 0 runs in both modes; equal, so seed 1's sequential row is a copy of its batch run (not trained)."""
    argv = ["--seeds", "2", "--trials", "16", "--epochs", "1", "--samplers", "jointnas"]
    argv += ["--modes", "batch,sequential", "--out", str(tmp_path)]
    assert dt.main(argv) == 0
    files = sorted(p.name for p in (tmp_path / dt.RUNS_DIR).glob("*.json"))
    assert files == ["batch-jointnas-seed0.json", "batch-jointnas-seed1.json", "sequential-jointnas-seed0.json"]
    saved = {f: json.loads((tmp_path / dt.RUNS_DIR / f).read_text())["run"] for f in files}
    assert saved["sequential-jointnas-seed0.json"]["curve"] == saved["batch-jointnas-seed0.json"]["curve"]
    data = json.loads((tmp_path / f"{dt.NAME}.json").read_text())
    assert data["meta"]["sequential_copied"] == {"jointnas": 1} and data["meta"]["finished_runs"] == 3
    seq = [r for r in data["result"]["runs"] if r["mode"] == "sequential"]
    assert sorted(r["seed"] for r in seq) == [0, 1] and [r["seed"] for r in seq if r.get("copy")] == [1]
    assert data["result"]["summary"]["sequential"]["table"]["jointnas"]["16"]["n_seeds"] == 2
    assert "JointNAS's sequential seed 0 equals its batch run" in (tmp_path / f"{dt.NAME}.md").read_text()


def test_sequential_copy_needs_equal_seed_zero_runs() -> None:
    def run(seed: int, mode: str, values: list[float]) -> dict:
        trials = [{"params": {"x": 1}, "value": v} for v in values]
        return {"sampler": "random", "seed": seed, "mode": mode, "curve": values, "trials": trials}

    runs = [run(0, "batch", [0.1, 0.2]), run(1, "batch", [0.3, 0.4]), run(0, "sequential", [0.1, 0.2])]
    assert dt.copy_sequential(runs, "random") == 1
    assert [r for r in runs if r.get("copy")] == [{**runs[1], "mode": "sequential", "copy": runs[-1]["copy"]}]
    differ = [run(0, "batch", [0.1, 0.2]), run(1, "batch", [0.3, 0.4]), run(0, "sequential", [0.1, 0.25])]
    assert dt.copy_sequential(differ, "random") is None and len(differ) == 3
    assert dt.copy_sequential(runs[:2], "random") is None  # seed 0 not run sequentially
