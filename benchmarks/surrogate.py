"""A surrogate benchmark of the ``cifar`` joint space, fitted on real reduced-CIFAR-10 evaluations.

In the style of JAHS-Bench-201 (Bansal et al., 2022) and YAHPO Gym (Pfisterer et al., 2022): a
regression model of a different family than optnas' MLP predictor is fitted on real training
runs, and then stands in for training so that samplers can be compared over thousands of
trials. Data: ``benchmarks/data/cifar_evals.csv`` written by ``benchmarks/generate_evals.py``
(``cifar``-preset QMC candidates, each trained by ``optnas.train.train_and_evaluate``).

- Features: ``space.encode(cols)`` (numeric dimensions scaled to [0, 1], categoricals one-hot)
  plus log MACs and log parameters from the exact cost model (``optnas.cost.count_columns``).
- Model: a scikit-learn random forest and a gradient-boosting ensemble are both scored by K-fold
  cross-validation (pooled out-of-fold R^2, Kendall tau via ``scipy.stats.kendalltau``, RMSE);
  the better one (by R^2) is refitted on all rows and used.
- Observation noise: the pooled within-candidate standard deviation over repeated seeds when the
  CSV has candidates trained with more than one seed; otherwise the RMSE of the out-of-fold
  predictions, which is an *upper bound* (it contains the model error too). ``noise_source``
  says which.
- The fitted model is cached as a pickle under ``benchmarks/data/cache/`` keyed by a hash of
  the CSV's complete rows and the fit settings, so a CSV that grew is refitted automatically.

:class:`SurrogateObjective` is an Optuna objective over the same space that behaves like the real
``optnas.studies.JointNASObjective``: it suggests the space's parameters, computes the exact
cost, records the constraints with ``optnas.constraints.record`` (``trial.set_constraint`` plus
the user-attribute mirrors), returns ``INFEASIBLE_VALUE`` for an infeasible candidate, and the
surrogate accuracy otherwise.

    python -m benchmarks.surrogate [--csv benchmarks/data/cifar_evals.csv] [--folds 5] [--refit]

writes ``benchmarks/results/surrogate.json`` and ``.md`` (cross-validated fit of both model
families, the chosen one and the noise estimate).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import pickle
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
import sklearn
from scipy.stats import kendalltau
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

from benchmarks import _harness
from optnas import OptnasError
from optnas.constraints import Constraint, record
from optnas.cost import count, count_columns
from optnas.space import Choice, IntRange, JointSpace, preset
from optnas.studies import INFEASIBLE_VALUE

__all__ = [
    "Evals",
    "Surrogate",
    "SurrogateObjective",
    "cross_validate",
    "features",
    "fit_surrogate",
    "load_surrogate",
    "read_evals_csv",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO / "benchmarks" / "data" / "cifar_evals.csv"
DEFAULT_CACHE = REPO / "benchmarks" / "data" / "cache"
NUM_CLASSES = 10
FIT_VERSION = 1  # bump when the features or the model settings change (invalidates caches)
MIN_ROWS = 6
FloatArray = npt.NDArray[np.float64]


# --- data -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evals:
    """The complete rows of an evaluations CSV."""

    params: list[dict[str, Any]]
    cols: FloatArray
    val_acc: FloatArray
    test_acc: FloatArray
    index: npt.NDArray[np.int64]
    seed: npt.NDArray[np.int64]
    diverged: npt.NDArray[np.bool_]
    digest: str = field(repr=False)

    def __len__(self) -> int:
        return len(self.val_acc)


def _value(space: JointSpace, name: str, raw: str) -> Any:
    d = next(x for x in space.dims if x.name == name)
    if isinstance(d.spec, Choice):
        for v in d.spec.values:
            if str(v) == raw:
                return v
        raise OptnasError(f"column {name}: {raw!r} is not one of {d.spec.values}")
    if isinstance(d.spec, IntRange):
        return int(raw)
    return float(raw)


def repeats_path(path: Path) -> Path:
    """``<name>_repeats.csv`` beside ``path``: its candidates retrained with other training seeds."""
    return path.with_name(f"{path.stem}_repeats.csv")


def read_evals_csv(path: Path, space: JointSpace) -> Evals:
    """Parse the rows of ``path`` (format of ``benchmarks/generate_evals.py``), and of its repeats file.

    ``repeats_path(path)``, when it exists, holds candidates of the same pool (``index``) trained
    again with other training seeds (``generate_evals.py --train-seed``); its rows join the
    evaluations, so the observation noise is the measured within-candidate spread.

    Only complete lines count (the generator may be appending a row right now). Diverged runs
    are kept: their accuracy is what the real objective would have returned for them.
    """
    if not path.exists():
        raise OptnasError(f"{path}: no evaluations file; run benchmarks/generate_evals.py first")
    text = path.read_text()
    text = text[: text.rfind("\n") + 1]
    texts = [text]
    repeats = repeats_path(path)
    if repeats.exists():  # the same candidates retrained with other training seeds
        extra = repeats.read_text()
        texts.append(extra[: extra.rfind("\n") + 1])
    params: list[dict[str, Any]] = []
    val, test, index, seed, div = [], [], [], [], []
    rows = [row for t in texts for row in csv.DictReader(io.StringIO(t))]
    for row in rows:
        missing = [n for n in space.names if n not in row]
        if missing:
            raise OptnasError(f"{path}: missing columns {missing}")
        params.append({n: _value(space, n, row[n]) for n in space.names})
        val.append(float(row["val_acc"]))
        test.append(float(row["test_acc"]) if row.get("test_acc") not in (None, "") else float("nan"))
        index.append(int(row["index"]))
        seed.append(int(row["seed"]))
        div.append(row.get("diverged") in ("True", "1", "true"))
    cols = space.to_columns(params) if params else np.zeros((0, len(space.dims)))
    return Evals(
        params=params,
        cols=cols,
        val_acc=np.array(val, dtype=float),
        test_acc=np.array(test, dtype=float),
        index=np.array(index, dtype=np.int64),
        seed=np.array(seed, dtype=np.int64),
        diverged=np.array(div, dtype=bool),
        digest=hashlib.sha256("".join(texts).encode()).hexdigest(),
    )


def features(space: JointSpace, cols: FloatArray, num_classes: int = NUM_CLASSES) -> FloatArray:
    """Model inputs: the space's encoding plus log MACs and log parameters (exact cost model)."""
    cost = count_columns(space, cols, num_classes)
    extra = np.stack([np.log(cost.macs.astype(float)), np.log(cost.params.astype(float))], axis=1)
    return np.concatenate([space.encode(cols), extra], axis=1)


# --- fitting ----------------------------------------------------------------------------------------
def _model(family: str, seed: int) -> Any:
    if family == "random_forest":
        return RandomForestRegressor(n_estimators=200, min_samples_leaf=2, max_features=0.5, random_state=seed)
    if family == "gradient_boosting":
        return GradientBoostingRegressor(
            n_estimators=200, learning_rate=0.05, max_depth=3, subsample=0.8, min_samples_leaf=2, random_state=seed
        )
    raise OptnasError(f"unknown model family {family!r}")


FAMILIES = ("random_forest", "gradient_boosting")


def cross_validate(family: str, x: FloatArray, y: FloatArray, *, folds: int, seed: int) -> dict[str, Any]:
    """K-fold cross-validation: pooled out-of-fold R^2, Kendall tau and RMSE, plus per-fold tau."""
    k = min(folds, len(y))
    oof = np.zeros_like(y)
    fold_tau = []
    for train, test in KFold(n_splits=k, shuffle=True, random_state=seed).split(x):
        m = _model(family, seed).fit(x[train], y[train])
        oof[test] = m.predict(x[test])
        if len(test) >= 3:
            t = float(kendalltau(oof[test], y[test]).statistic)
            if np.isfinite(t):
                fold_tau.append(t)
    tau = float(kendalltau(oof, y).statistic)
    return {
        "family": family,
        "folds": k,
        "r2": float(r2_score(y, oof)),
        "kendall_tau": tau,
        "kendall_tau_fold_mean": float(np.mean(fold_tau)) if fold_tau else float("nan"),
        "rmse": float(np.sqrt(np.mean((oof - y) ** 2))),
        "oof": oof,
    }


def _repeat_noise(ev: Evals) -> tuple[float, int] | None:
    """Pooled within-candidate standard deviation over candidates trained with several seeds."""
    groups: dict[int, list[float]] = {}
    for i, y in zip(ev.index, ev.val_acc, strict=True):
        groups.setdefault(int(i), []).append(float(y))
    reps = [np.asarray(v) for v in groups.values() if len(v) > 1]
    if not reps:
        return None
    ss = sum(float(np.sum((r - r.mean()) ** 2)) for r in reps)
    dof = sum(len(r) - 1 for r in reps)
    return float(np.sqrt(ss / dof)), len(reps)


def fit_surrogate(
    csv_path: Path, space: JointSpace, *, folds: int = 5, seed: int = 0, num_classes: int = NUM_CLASSES
) -> dict[str, Any]:
    """Fit both model families, cross-validate, keep the better; return a picklable payload."""
    ev = read_evals_csv(csv_path, space)
    if len(ev) < MIN_ROWS:
        raise OptnasError(f"{csv_path}: {len(ev)} evaluations; the surrogate needs at least {MIN_ROWS}")
    x = features(space, ev.cols, num_classes)
    y = ev.val_acc
    t0 = time.perf_counter()
    cv = {fam: cross_validate(fam, x, y, folds=folds, seed=seed) for fam in FAMILIES}
    best = max(FAMILIES, key=lambda f: (cv[f]["r2"], cv[f]["kendall_tau"]))
    model = _model(best, seed).fit(x, y)
    reps = _repeat_noise(ev)
    if reps is not None:
        noise_sd, source = reps[0], f"repeated seeds ({reps[1]} candidates trained more than once)"
    else:
        noise_sd = cv[best]["rmse"]
        source = "out-of-fold RMSE (upper bound: includes model error; the CSV has no repeated seeds)"
    return {
        "fit_version": FIT_VERSION,
        "space": space.fingerprint(),
        "num_classes": num_classes,
        "csv_digest": ev.digest,
        "n_rows": len(ev),
        "n_candidates": len(set(ev.index.tolist())),
        "n_diverged": int(ev.diverged.sum()),
        "family": best,
        "model": model,
        "cv": {f: {k: v for k, v in r.items() if k != "oof"} for f, r in cv.items()},
        "oof": cv[best]["oof"],
        "y": y,
        "test_acc": ev.test_acc,
        "noise_sd": float(noise_sd),
        "noise_source": source,
        "y_range": (float(y.min()), float(y.max())),
        "fit_seconds": time.perf_counter() - t0,
        "sklearn": sklearn.__version__,
    }


# --- the surrogate ----------------------------------------------------------------------------------
class Surrogate:
    """A fitted surrogate of validation accuracy over a :class:`JointSpace`.

    Predictions are clipped to [0, 1]. With ``rng`` they include Gaussian observation noise of
    standard deviation ``noise_sd`` (seeded; the mean prediction otherwise).
    """

    def __init__(self, space: JointSpace, payload: Mapping[str, Any]) -> None:
        if payload["space"] != space.fingerprint():
            raise OptnasError("the cached surrogate was fitted on another space")
        self.space = space
        self.payload = dict(payload)
        self.model = payload["model"]
        self.family: str = payload["family"]
        self.noise_sd: float = float(payload["noise_sd"])
        self.num_classes: int = int(payload["num_classes"])

    @property
    def n_rows(self) -> int:
        return int(self.payload["n_rows"])

    @property
    def cv(self) -> dict[str, dict[str, Any]]:
        return dict(self.payload["cv"])

    def predict_cols(self, cols: FloatArray, rng: np.random.Generator | None = None) -> FloatArray:
        """Accuracy of every row of a column array (``JointSpace.sample`` / ``to_columns``)."""
        cols = np.atleast_2d(np.asarray(cols, dtype=float))
        mean = np.asarray(self.model.predict(features(self.space, cols, self.num_classes)), dtype=float)
        if rng is not None:
            mean = mean + rng.normal(0.0, self.noise_sd, size=mean.shape)
        out: FloatArray = np.clip(mean, 0.0, 1.0)
        return out

    def predict_params(self, params: Mapping[str, Any], rng: np.random.Generator | None = None) -> float:
        """Accuracy of one Optuna parameter dict (extra keys are ignored)."""
        return float(self.predict_cols(self.space.to_columns([params]), rng)[0])


def _cache_path(cache_dir: Path, digest: str, folds: int, seed: int) -> Path:
    key = f"{digest}:{FIT_VERSION}:{folds}:{seed}:{sklearn.__version__}"
    return cache_dir / f"surrogate-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"


def load_surrogate(
    csv_path: Path | str = DEFAULT_CSV,
    *,
    cache_dir: Path | str = DEFAULT_CACHE,
    folds: int = 5,
    seed: int = 0,
    refit: bool = False,
    space: JointSpace | None = None,
) -> Surrogate:
    """The surrogate of ``csv_path`` (fitted now, or loaded from the cache if the CSV is unchanged)."""
    space = space or preset("cifar")
    csv_path, cache_dir = Path(csv_path), Path(cache_dir)
    digest = read_evals_csv(csv_path, space).digest
    path = _cache_path(cache_dir, digest, folds, seed)
    if path.exists() and not refit:
        with path.open("rb") as f:
            payload = pickle.load(f)  # our own cache file
        if payload.get("csv_digest") == digest and payload.get("space") == space.fingerprint():
            return Surrogate(space, payload)
    payload = fit_surrogate(csv_path, space, folds=folds, seed=seed)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as f:
        pickle.dump(payload, f)
    tmp.replace(path)
    return Surrogate(space, payload)


@dataclass
class SurrogateObjective:
    """Optuna objective: surrogate accuracy, with constraints recorded as the real objective does.

    Mirrors ``optnas.studies.JointNASObjective``: suggest the space, compute the exact cost,
    set the ``arch``/``recipe`` user attributes, ``record`` the constraints, and return
    ``INFEASIBLE_VALUE`` (never "training") for an infeasible candidate.

    Args:
        surrogate: a fitted :class:`Surrogate`.
        constraints: resource constraints recorded on every trial.
        noise_seed: if set, the returned accuracy includes observation noise drawn from
            ``np.random.default_rng([noise_seed, trial.number])`` (deterministic per trial).
    """

    surrogate: Surrogate
    constraints: Sequence[Constraint] = ()
    noise_seed: int | None = None
    #: seconds spent evaluating, i.e. in the objective after the parameters were suggested (Optuna
    #: samples lazily inside ``suggest_*``, so that part is the sampler's, for overhead accounting)
    eval_seconds: float = 0.0

    def __call__(self, trial: optuna.Trial) -> float:
        space = self.surrogate.space
        arch, recipe = space.suggest(trial)
        t0 = time.perf_counter()
        try:
            cost = count(arch, self.surrogate.num_classes)
            trial.set_user_attr("arch", str(arch))
            trial.set_user_attr("recipe", recipe.to_dict())
            if not record(trial, self.constraints, cost):
                trial.set_user_attr("trained", False)
                return INFEASIBLE_VALUE
            rng = None if self.noise_seed is None else np.random.default_rng([self.noise_seed, trial.number])
            trial.set_user_attr("trained", True)
            return self.surrogate.predict_params(trial.params, rng)
        finally:
            self.eval_seconds += time.perf_counter() - t0


# --- report -----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--refit", action="store_true", help="ignore the cache")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "surrogate")
    args = ap.parse_args(argv)
    space = preset("cifar")
    s = load_surrogate(args.csv, folds=args.folds, seed=args.seed, refit=args.refit, space=space)
    p = s.payload
    # prediction speed over a QMC pool and one row at a time (what an objective call costs)
    pool = space.sample(1024, 0)
    t0 = time.perf_counter()
    s.predict_cols(pool)
    batch_us = (time.perf_counter() - t0) / len(pool) * 1e6
    t0 = time.perf_counter()
    for row in pool[:50]:
        s.predict_params(space.to_params(row))
    single_ms = (time.perf_counter() - t0) / 50 * 1e3
    pred = s.predict_cols(pool)
    oof, y = np.asarray(p["oof"]), np.asarray(p["y"])
    meta = _harness.metadata(
        _harness.command_line("benchmarks.surrogate", argv),
        csv=str(args.csv.relative_to(REPO) if args.csv.is_relative_to(REPO) else args.csv),
        csv_sha256=p["csv_digest"],
    )
    result = {
        "n_rows": p["n_rows"],
        "n_candidates": p["n_candidates"],
        "n_diverged": p["n_diverged"],
        "chosen_family": p["family"],
        "cv": p["cv"],
        "noise_sd": p["noise_sd"],
        "noise_source": p["noise_source"],
        "val_acc_range": p["y_range"],
        "val_acc_sd": float(np.std(y)),
        "predict_us_per_row_batch": batch_us,
        "predict_ms_single": single_ms,
        "pool_prediction_range": [float(pred.min()), float(pred.max())],
        "pool_prediction_sd": float(np.std(pred)),
    }
    cv = p["cv"]
    best = cv[p["family"]]
    headline = (
        f"Chosen model: {p['family'].replace('_', ' ')}; {cv[p['family']]['folds']}-fold CV R^2 "
        f"{best['r2']:.3f}, Kendall tau {best['kendall_tau']:.3f}."
    )
    lines = [
        f"Data: `{meta['csv']}`, {p['n_rows']} evaluations ({p['n_candidates']} candidates, "
        f"{p['n_diverged']} diverged), validation accuracy {y.min():.3f}-{y.max():.3f} (sd {np.std(y):.3f})",
        "",
        "Peer in the same run: the other model family on the same folds.",
        "",
        "| model | folds | CV R^2 | CV Kendall tau (pooled) | tau (mean over folds) | CV RMSE | RMSE / sd(acc) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for fam in FAMILIES:
        r = cv[fam]
        lines.append(
            f"| {fam.replace('_', ' ')}{' (chosen)' if fam == p['family'] else ''} | {r['folds']} | {r['r2']:.3f} | "
            f"{r['kendall_tau']:.3f} | {r['kendall_tau_fold_mean']:.3f} | {r['rmse']:.4f} | "
            f"{r['rmse'] / max(np.std(y), 1e-12):.2f} |"
        )
    lines += [
        "",
        f"Observation noise: sd {p['noise_sd']:.4f} from {p['noise_source']}.",
        f"Out-of-fold predictions of the chosen model span {oof.min():.3f}-{oof.max():.3f}; over a 1,024-point "
        f"QMC pool the surrogate predicts {pred.min():.3f}-{pred.max():.3f} (sd {np.std(pred):.4f}).",
        f"Speed: {batch_us:.1f} µs per row in a 1,024-row batch, {single_ms:.2f} ms per single "
        "`predict_params` call (one objective call).",
        "",
    ]
    if best["r2"] <= 0 or best["kendall_tau"] <= 0:
        lines += [
            "**Not predictive: the cross-validated fit is no better than predicting the mean (R^2 <= 0 or "
            "tau <= 0).** A sampler comparison on this surrogate tests the samplers on a fixed, deterministic "
            "but essentially arbitrary landscape over the real space and constraint; it says nothing yet about "
            "real CIFAR-10 accuracy.",
            "",
        ]
    if p["n_rows"] < 400:
        lines.append(
            f"Shortfall: issue 8 asks for at least 400 evaluations; this fit uses {p['n_rows']}. "
            "With so few rows the surrogate is a coarse model of the space; rerun this command after "
            "`benchmarks/generate_evals.py` has added rows (the cache refits automatically)."
        )
    _, md = _harness.write_report(
        args.out.name,
        meta=meta,
        result=result,
        body=lines,
        title="Surrogate benchmark (JAHS-Bench-201 / YAHPO style) of the `cifar` joint space",
        headline=headline,
        results_dir=args.out.parent,
    )
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
