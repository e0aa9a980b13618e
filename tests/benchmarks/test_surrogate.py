"""The surrogate benchmark (benchmarks/surrogate.py) on a small synthetic evaluations CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from benchmarks import generate_evals as gen
from benchmarks import surrogate as sur
from optnas import OptnasError
from optnas.constraints import max_macs, max_params, record
from optnas.cost import count, count_columns
from optnas.space import preset
from optnas.studies import INFEASIBLE_VALUE

SPACE = preset("cifar")


def _truth(cols: np.ndarray) -> np.ndarray:
    """A learnable accuracy: grows with log MACs, best near lr = 0.03."""
    macs = count_columns(SPACE, cols, 10).macs.astype(float)
    lr = SPACE.full_columns(cols)["lr"]
    return 0.3 + 0.05 * np.log(macs / 1e6) - 0.02 * np.log(lr / 0.03) ** 2


def write_csv(path: Path, n: int, repeats: dict[int, list[float]] | None = None) -> np.ndarray:
    """``n`` QMC candidates with accuracy ``_truth``; ``repeats`` adds rows of other seeds."""
    cols = SPACE.sample(n, 0)
    acc = _truth(cols)
    cost = count_columns(SPACE, cols, 10)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(gen.columns(SPACE))
        rows: list[tuple[int, int, float]] = [(i, 0, float(acc[i])) for i in range(n)]
        for i, extra in (repeats or {}).items():
            rows += [(i, s + 1, v) for s, v in enumerate(extra)]
        for i, seed, a in rows:
            p = SPACE.to_params(cols[i])
            w.writerow(
                [
                    i,
                    seed,
                    *(p[k] for k in SPACE.names),
                    cost.macs[i],
                    cost.params[i],
                    a,
                    a - 0.01,
                    json.dumps([a / 2, a]),
                    1.0,
                    "arch",
                    False,
                ]
            )
    return acc


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, np.ndarray]:
    d = tmp_path_factory.mktemp("surrogate")
    acc = write_csv(d / "evals.csv", 48)
    return sur.load_surrogate(d / "evals.csv", cache_dir=d / "cache", folds=4), d, acc


def test_fit_and_cross_validation(fitted: tuple[Any, Path, np.ndarray]) -> None:
    s, _, acc = fitted
    assert s.n_rows == 48
    assert s.family in sur.FAMILIES
    assert set(s.cv) == set(sur.FAMILIES)
    for r in s.cv.values():
        assert r["folds"] == 4
    best = s.cv[s.family]
    assert best["r2"] == max(r["r2"] for r in s.cv.values())  # the better family is chosen
    # a smooth, mostly MACs-driven function is learnable from 48 rows
    assert best["r2"] > 0.6 and best["kendall_tau"] > 0.6
    # no repeated seeds: noise is the chosen family's out-of-fold RMSE, and says so
    assert s.noise_sd == pytest.approx(best["rmse"])
    assert "upper bound" in s.payload["noise_source"]
    oof = np.asarray(s.payload["oof"])
    assert best["rmse"] == pytest.approx(float(np.sqrt(np.mean((oof - acc) ** 2))))


def test_predictions_and_determinism(fitted: tuple[Any, Path, np.ndarray]) -> None:
    s, _, _ = fitted
    pool = SPACE.sample(64, 5)
    a, b = s.predict_cols(pool), s.predict_cols(pool)
    np.testing.assert_array_equal(a, b)
    assert np.all((a >= 0) & (a <= 1))
    from scipy.stats import kendalltau

    assert kendalltau(a, _truth(pool)).statistic > 0.5  # generalizes to unseen candidates
    p = SPACE.to_params(pool[3])
    assert s.predict_params({**p, "unrelated": 1}) == pytest.approx(a[3])
    n1 = s.predict_cols(pool, np.random.default_rng(7))
    n2 = s.predict_cols(pool, np.random.default_rng(7))
    np.testing.assert_array_equal(n1, n2)
    resid = n1 - a
    assert np.std(resid[(a > 0.05) & (a < 0.95)]) == pytest.approx(s.noise_sd, rel=0.35)


def test_cache_reuse_and_refit_on_change(fitted: tuple[Any, Path, np.ndarray]) -> None:
    s, d, _ = fitted
    files = sorted((d / "cache").glob("surrogate-*.pkl"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    again = sur.load_surrogate(d / "evals.csv", cache_dir=d / "cache", folds=4)
    assert files[0].stat().st_mtime_ns == mtime  # loaded, not refitted
    pool = SPACE.sample(16, 1)
    np.testing.assert_array_equal(again.predict_cols(pool), s.predict_cols(pool))
    # a torn last line (a row being appended right now) is ignored: same digest, same cache
    with (d / "evals.csv").open("a") as f:
        f.write("48,0,28")
    assert sur.read_evals_csv(d / "evals.csv", SPACE).digest == s.payload["csv_digest"]
    assert len(sur.read_evals_csv(d / "evals.csv", SPACE)) == 48


def test_noise_from_repeated_seeds(tmp_path: Path) -> None:
    acc = write_csv(tmp_path / "r.csv", 12, repeats={0: [0.0], 1: [0.0, 0.0]})
    ev = sur.read_evals_csv(tmp_path / "r.csv", SPACE)
    assert len(ev) == 15
    sd, groups = sur._repeat_noise(ev)
    g0 = np.array([acc[0], 0.0])
    g1 = np.array([acc[1], 0.0, 0.0])
    ss = np.sum((g0 - g0.mean()) ** 2) + np.sum((g1 - g1.mean()) ** 2)
    assert groups == 2
    assert sd == pytest.approx(float(np.sqrt(ss / 3)))
    s = sur.load_surrogate(tmp_path / "r.csv", cache_dir=tmp_path / "cache", folds=3)
    assert s.noise_sd == pytest.approx(sd)
    assert s.payload["noise_source"].startswith("repeated seeds (2 candidates")
    assert s.payload["n_candidates"] == 12 and s.n_rows == 15


def test_repeats_file_beside_the_csv_joins_the_evaluations(tmp_path: Path) -> None:
    """``generate_evals.py --train-seed S`` writes ``<name>_repeats.csv``; its rows are repeats."""
    acc = write_csv(tmp_path / "e.csv", 12)
    header = gen.columns(SPACE, repeats=True)
    assert header[:3] == ["index", "seed", "train_seed"]
    path = sur.repeats_path(tmp_path / "e.csv")
    assert path.name == "e_repeats.csv"
    assert gen.done_indices(path, header, 1) == set()  # creates it with the header
    base = list(csv.DictReader((tmp_path / "e.csv").open()))
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        for i, train_seed, value in ((0, 1, 0.5), (1, 1, 0.25), (1, 2, 0.75)):
            row = {**base[i], "train_seed": train_seed, "val_acc": value}
            w.writerow([row[k] for k in header])
    assert gen.done_indices(path, header, 1) == {0, 1}
    assert gen.done_indices(path, header, 2) == {1}
    ev = sur.read_evals_csv(tmp_path / "e.csv", SPACE)
    assert len(ev) == 15 and sorted(ev.index.tolist()[12:]) == [0, 1, 1]
    sd, groups = sur._repeat_noise(ev)
    g0, g1 = np.array([acc[0], 0.5]), np.array([acc[1], 0.25, 0.75])
    ss = np.sum((g0 - g0.mean()) ** 2) + np.sum((g1 - g1.mean()) ** 2)
    assert groups == 2 and sd == pytest.approx(float(np.sqrt(ss / 3)))
    # the digest covers both files: a new repeat refits the surrogate
    before = ev.digest
    with path.open("a", newline="") as f:
        csv.writer(f).writerow([{**base[2], "train_seed": 1, "val_acc": 0.1}[k] for k in header])
    assert sur.read_evals_csv(tmp_path / "e.csv", SPACE).digest != before


def test_too_few_rows(tmp_path: Path) -> None:
    write_csv(tmp_path / "small.csv", sur.MIN_ROWS - 1)
    with pytest.raises(OptnasError, match="at least"):
        sur.load_surrogate(tmp_path / "small.csv", cache_dir=tmp_path / "cache")


def _run(objective: Any, seed: int, n: int) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n)
    return study


def test_objective_records_constraints_like_record(fitted: tuple[Any, Path, np.ndarray]) -> None:
    s, _, _ = fitted
    cols = SPACE.sample(256, 0)
    cost = count_columns(SPACE, cols, 10)
    constraints = [max_macs(float(np.median(cost.macs))), max_params(float(np.percentile(cost.params, 70)))]
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = _run(sur.SurrogateObjective(s, constraints), 3, 24)
    n_feasible = 0
    for t in study.trials:
        arch, recipe = SPACE.decode_params(t.params)
        ref = optuna.create_study().ask()
        feasible = record(ref, constraints, count(arch, 10))
        frozen = ref.study._storage.get_trial(ref._trial_id)
        assert t.constraints == frozen.constraints
        assert set(t.constraints) == {"max_macs", "max_params"}
        for key, value in frozen.user_attrs.items():
            assert t.user_attrs[key] == value
        assert t.user_attrs["arch"] == str(arch)
        assert t.user_attrs["recipe"] == recipe.to_dict()
        if feasible:
            n_feasible += 1
            assert t.value == pytest.approx(s.predict_params(t.params))
        else:
            assert t.value == INFEASIBLE_VALUE
            assert t.user_attrs["trained"] is False
    assert 0 < n_feasible < 24  # both branches were exercised


def test_objective_is_deterministic(fitted: tuple[Any, Path, np.ndarray]) -> None:
    s, _, _ = fitted
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    a = _run(sur.SurrogateObjective(s, [max_macs(1e9)]), 5, 10)
    b = _run(sur.SurrogateObjective(s, [max_macs(1e9)]), 5, 10)
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    na = _run(sur.SurrogateObjective(s, [max_macs(1e9)], noise_seed=1), 5, 10)
    nb = _run(sur.SurrogateObjective(s, [max_macs(1e9)], noise_seed=1), 5, 10)
    assert [t.value for t in na.trials] == [t.value for t in nb.trials]
    assert [t.value for t in na.trials] != [t.value for t in a.trials]
    obj = sur.SurrogateObjective(s, [max_macs(1e9)])
    _run(obj, 5, 3)
    assert obj.eval_seconds > 0
