"""``evolve`` with latency budgets and the accuracy-cost front of ``--sweep`` (FBNetV3 Sec. 3.3).

Studies are made from Python with made-up accuracies (no training). Latency comes from a
synthetic user table (entries are fixed functions of the key), so nothing depends on timings.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from optnas._errors import ConfigError
from optnas.constraints import max_latency_ms
from optnas.cost import LatencyTable, count, count_columns
from optnas.evolution import GAConfig
from optnas.predictor import load_latency_table, save_latency_table
from optnas.space import preset
from optnas.studies import evolve
from optnas.studies._front import SweepSpec, enqueue_front, mark_trained, parse_sweep, sweep, write_front

SPACE = preset("digits")
SMALL_GA = GAConfig(population=8, n_best=4, n_random=4, max_generations=3, init_pool=256)


def _table() -> LatencyTable:
    cols = SPACE.sample(4096, 11)
    keys = LatencyTable().pool_keys(SPACE, cols, 10)
    lows = SPACE.sample(1, 0)
    keys += LatencyTable().pool_keys(SPACE, lows, 10)
    from optnas.constraints import minimum_cost
    from optnas.cost import arch_keys

    keys += arch_keys(minimum_cost(SPACE, 10).arch, 10)  # type: ignore[arg-type]
    entries = {k: 1e-4 * (k.h * k.h * (k.cin + k.cout + k.exp) * k.k) / 64 + 0.01 for k in keys}
    return LatencyTable(entries, overhead_ms=0.1, device={"name": "synthetic"})


TABLE = _table()


def _study(url: str, n: int = 12) -> optuna.Study:
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(direction="maximize", storage=url, study_name="py", sampler=sampler)
    study.set_user_attr("optnas:space", SPACE.to_dict())

    def objective(trial: optuna.Trial) -> float:
        arch, _ = SPACE.suggest(trial)
        c = count(arch, 10)
        trial.set_user_attr("arch", str(arch))
        trial.set_user_attr("params", c.params)
        return float(0.5 + 0.4 * np.tanh(c.macs / 2e6))  # accuracy grows with MACs

    study.optimize(objective, n_trials=n)
    return study


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, optuna.Study]:
    url = f"sqlite:///{tmp_path_factory.mktemp('front') / 'py.db'}"
    return url, _study(url)


def test_parse_sweep() -> None:
    spec = parse_sweep("max_mmacs=0.2:2.0:10")
    assert spec.metric == "macs" and spec.scale == 1e6 and len(spec.budgets) == 10
    assert spec.budgets[0] == pytest.approx(0.2) and spec.budgets[-1] == pytest.approx(2.0)
    assert parse_sweep("max_mflops=1:1:1").metric == "macs"
    assert parse_sweep("max_latency_ms=2,1,3").budgets == (1.0, 2.0, 3.0)
    assert parse_sweep("max_mparams=0.01:0.05:3").metric == "params"
    for bad in ("max_gpus=1:2:3", "max_mmacs", "max_mmacs=1:2", "max_mmacs=2:1:3", "max_mmacs=a,b", "max_mmacs=0,1"):
        with pytest.raises(ConfigError, match="--sweep"):
            parse_sweep(bad)
    for bad in ("max_mmacs=2:1:3", "max_mmacs=1:2:0"):  # the reason, not the generic "with numbers"
        with pytest.raises(ConfigError, match="needs COUNT >= 1 and STOP >= START"):
            parse_sweep(bad)


def test_evolve_meets_a_latency_budget(study: tuple[str, optuna.Study]) -> None:
    _, st = study
    pool = SPACE.sample(512, 1)
    limit = float(np.median(TABLE.predict_columns(SPACE, pool, 10)))
    found = evolve(st, [max_latency_ms(limit)], 3, ga_config=SMALL_GA, latency=TABLE, num_classes=10)
    assert found and all(c.latency_ms is not None and c.latency_ms <= limit for c in found)
    for c in found:
        assert TABLE.predict(c.arch, 10) == pytest.approx(c.latency_ms)
    with pytest.raises(ConfigError, match="smallest achievable latency_ms"):
        evolve(st, [max_latency_ms(1e-6)], 1, ga_config=SMALL_GA, latency=TABLE, num_classes=10)


@pytest.mark.parametrize("key", ["max_mmacs", "max_latency_ms", "max_mparams"])
def test_front_is_monotone_and_every_member_meets_its_budget(study: tuple[str, optuna.Study], key: str) -> None:
    _, st = study
    pool = SPACE.sample(512, 2)
    cost = count_columns(SPACE, pool, 10, latency=TABLE)
    values = {"max_mmacs": cost.macs / 1e6, "max_mparams": cost.params / 1e6, "max_latency_ms": cost.latency_ms}[key]
    lo, hi = np.quantile(values, [0.05, 0.95])
    spec = SweepSpec(key, tuple(np.linspace(lo, hi, 5)))
    front = sweep(st, spec, top_k=3, ga_config=SMALL_GA, latency=TABLE, num_classes=10)
    assert [p.budget for p in front.points] == list(spec.budgets)
    accs = [p.candidate.predicted_accuracy for p in front.points if p.candidate is not None]
    assert len(accs) == 5 and accs == sorted(accs)
    for p in front.points:
        assert p.candidate is not None
        assert p.candidate.metric(spec.metric) <= p.budget * spec.scale
    # Pareto front of the evaluated trials: increasing cost and strictly increasing accuracy.
    par = [front.evaluated[i] for i in front.pareto]
    assert [r["cost"] for r in par] == sorted(r["cost"] for r in par)
    assert all(a["value"] < b["value"] for a, b in itertools.pairwise(par))


def test_front_files_and_enqueue(tmp_path: Path) -> None:
    st = _study(f"sqlite:///{tmp_path / 'e.db'}", n=8)
    spec = parse_sweep("max_mmacs=0.5:3.0:3")
    front = sweep(st, spec, top_k=2, ga_config=SMALL_GA, num_classes=10)
    written, _ = write_front(front, tmp_path / "out", png=False)
    names = {p.name for p in written}
    assert {"front.csv", "front.md", "front.json", "front.html"} <= names
    rows = (tmp_path / "out" / "front.csv").read_text().splitlines()
    assert rows[0].startswith("budget_MMACs,predicted_accuracy") and len(rows) == 4
    data = json.loads((tmp_path / "out" / "front.json").read_text())
    assert data["sweep"] == "max_mmacs" and len(data["points"]) == 3
    n = enqueue_front(st, front)
    waiting = [t for t in st.get_trials() if t.state == TrialState.WAITING]
    assert n == len(front.members()) == len(waiting)
    assert all(t.user_attrs["stage"] == "front" for t in waiting)


def test_trained_members_are_marked(tmp_path: Path) -> None:
    st = _study(f"sqlite:///{tmp_path / 'm.db'}", n=8)
    spec = parse_sweep("max_mmacs=0.5:3.0:2")
    front = sweep(st, spec, top_k=2, ga_config=SMALL_GA, num_classes=10)
    member = front.points[-1].candidate
    assert member is not None
    st.enqueue_trial(member.trial_params)

    def objective(trial: optuna.Trial) -> float:
        SPACE.suggest(trial)
        return 0.99

    assert all(p.trained_trial is None for p in front.points)
    st.optimize(objective, n_trials=1)
    again = mark_trained(front, st, SPACE, 10)
    assert again.points[-1].trained_trial == 8 and len(again.evaluated) == 9


def test_latency_table_artifact_round_trip(tmp_path: Path) -> None:
    from optuna.artifacts import FileSystemArtifactStore

    st = _study(f"sqlite:///{tmp_path / 'a.db'}", n=3)
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    save_latency_table(st, TABLE, FileSystemArtifactStore(str(store_dir)))
    back = load_latency_table(st, artifact_dir=store_dir)
    assert back is not None and back.entries == TABLE.entries and back.overhead_ms == TABLE.overhead_ms
    assert st.user_attrs["optnas:latency_table"]["entries"] == len(TABLE)


def test_evolve_cli_sweep_and_aliases(tmp_path: Path, study: tuple[str, optuna.Study]) -> None:
    url, _ = study
    table = TABLE.save(tmp_path / "table.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    base = [sys.executable, "-m", "optnas", "evolve", "--storage", url, "--study-name", "py", "--top-k", "1"]
    out = tmp_path / "front"
    cmd = [*base, "--sweep", "max_latency_ms=0.5,2,8", "--latency-table", str(table), "--out", str(out), "--no-png"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert (out / "front.csv").is_file() and (out / "front.html").is_file()
    for flag in ("--max-mmacs", "--max-mflops"):
        done = subprocess.run([*base, flag, "1.5", "--json"], capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        assert all(c["macs"] <= 1.5e6 for c in json.loads(done.stdout))
    cmd = [*base, "--max-latency-ms", "4", "--latency-table", str(table), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert all(c["latency_ms"] <= 4 for c in json.loads(done.stdout))
    done = subprocess.run(base, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "--max-mflops" in done.stderr and "--sweep" in done.stderr
