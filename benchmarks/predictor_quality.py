"""Predictor quality in the style of FBNetV3 Fig. 5: Kendall tau and RMSE on held-out candidates
versus the number of training samples, with and without proxy pretraining, on real evaluations.

Data: ``benchmarks/data/cifar_evals.csv`` (``benchmarks/generate_evals.py``: ``cifar``-preset
candidates trained on reduced CIFAR-10). For every training size n and repeat r, n candidates are
drawn at random (seeded) from the non-held-out rows, the predictor is fit on their validation
accuracy and scored on a fixed held-out set. The peers measured in the same run are the "free"
proxy ranking by log MACs alone (what a FLOPs-only prior would give) for Kendall tau, and the
training subset's mean accuracy predicted for every held-out candidate for RMSE.

    python -m benchmarks.predictor_quality [--csv benchmarks/data/cifar_evals.csv] [--repeats 10]

Writes ``benchmarks/results/predictor_quality.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from optnas.predictor import Predictor, PredictorConfig
from optnas.space import Choice, IntRange, JointSpace, preset

REPO = Path(__file__).resolve().parents[1]


def read_evals(path: Path, space: JointSpace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column array, validation accuracy and MACs of every row."""
    params, acc, macs = [], [], []
    with path.open() as f:
        for row in csv.DictReader(f):
            if row.get("diverged") in ("True", "1"):
                continue
            p: dict[str, Any] = {}
            for d in space.dims:
                raw = row[d.name]
                if isinstance(d.spec, Choice):
                    p[d.name] = next(v for v in d.spec.values if str(v) == raw)
                elif isinstance(d.spec, IntRange):
                    p[d.name] = int(raw)
                else:
                    p[d.name] = float(raw)
            params.append(p)
            acc.append(float(row["val_acc"]))
            macs.append(float(row["macs"]))
    return space.to_columns(params), np.array(acc), np.array(macs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=REPO / "benchmarks" / "data" / "cifar_evals.csv")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--holdout", type=float, default=0.3)
    ap.add_argument("--sizes", default="8,16,32,64")
    ap.add_argument("--preset", default="cifar", help="the space the CSV's candidates come from")
    ap.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/predictor_quality_<preset>")
    args = ap.parse_args(argv)
    space = preset(args.preset)
    if args.out is None:
        args.out = REPO / "benchmarks" / "results" / f"predictor_quality_{args.preset}"
    cols, acc, macs = read_evals(args.csv, space)
    n_all = len(acc)
    rng = np.random.default_rng(0)
    order = rng.permutation(n_all)
    n_test = max(8, int(args.holdout * n_all))
    test, pool = order[:n_test], order[n_test:]
    sizes = [int(s) for s in args.sizes.split(",") if int(s) <= len(pool)]
    proxy_tau = float(kendalltau(np.log(macs[test]), acc[test]).statistic)
    results: list[dict[str, Any]] = []
    for n in sizes:
        for pretrain in (True, False):
            taus, rmses, secs, mean_rmses = [], [], [], []
            for r in range(args.repeats):
                idx = np.random.default_rng([n, r]).choice(pool, size=n, replace=False)
                p = Predictor(space, num_classes=10, seed=r, config=PredictorConfig(pretrain=pretrain))
                if pretrain:
                    p.pretrain()  # cached per space; excluded from the fit time below
                t0 = time.perf_counter()
                p.fit(cols[idx], acc[idx])
                secs.append(time.perf_counter() - t0)
                pred = p.predict(cols[test])
                taus.append(float(kendalltau(pred, acc[test]).statistic))
                rmses.append(float(np.sqrt(np.mean((pred - acc[test]) ** 2))))
                mean_rmses.append(float(np.sqrt(np.mean((acc[idx].mean() - acc[test]) ** 2))))
            results.append(
                {
                    "n_train": n,
                    "pretrain": pretrain,
                    "kendall_tau_mean": float(np.mean(taus)),
                    "kendall_tau_std": float(np.std(taus)),
                    "rmse_mean": float(np.mean(rmses)),
                    "peer_mean_rmse": float(np.mean(mean_rmses)),
                    "fit_seconds_median": float(np.median(secs)),
                }
            )
            print(results[-1], flush=True)
    command = "python -m benchmarks.predictor_quality " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "n_evaluations": n_all,
        "n_heldout": int(n_test),
        "repeats": args.repeats,
        "peer_log_macs_kendall_tau": proxy_tau,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    lines = [
        "# Predictor quality (FBNetV3 Fig. 5 style)",
        "",
        f"`{meta['command']}` — {meta['date']}, {meta['cores']} cores.",
        f"{n_all} real evaluations of the `{args.preset}` preset ({args.csv.name}); {n_test} held out; "
        f"{args.repeats} random training subsets per size.",
        "",
        f"Peers in the same run: ranking by log MACs alone gives Kendall tau {proxy_tau:.3f} on the held-out set; "
        "predicting the training subset's mean accuracy for every held-out candidate gives the RMSE the last "
        "ratio divides by (below 1: the predictor beats it).",
        "",
        "| n train | pretraining | Kendall tau (mean ± sd) | tau − log-MACs tau | RMSE "
        "| RMSE / training-mean RMSE | fit s (median) |",
        "|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n_train']} | {'yes' if r['pretrain'] else 'no'} | {r['kendall_tau_mean']:.3f} ± "
            f"{r['kendall_tau_std']:.3f} | {r['kendall_tau_mean'] - proxy_tau:+.3f} | {r['rmse_mean']:.4f} | "
            f"{r['rmse_mean'] / r['peer_mean_rmse']:.2f} | {r['fit_seconds_median']:.3f} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
