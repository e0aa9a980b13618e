"""AutoTrain delta (FBNetV3 Table 2, "Original vs AutoTrain"): one fixed architecture, the default
recipe against the recipe JointNASSampler finds, same epochs, same data, same seed.

The architecture is the one of ``studies/autotrain_<dataset>.toml`` (or of the study file given
with ``--study``, e.g. a torchvision classifier); the recipe ranges are the preset's, with the
epoch budget fixed to ``--epochs`` for both sides. The AutoTrain study runs
through ``optnas.studies.run_study`` (stage 1 + stage 2), then the default ``Recipe`` and the best
found recipe are both retrained from scratch and evaluated on validation and test images.

    python -m benchmarks.autotrain_delta [--dataset cifar10|digits] [--epochs 3]
    python -m benchmarks.autotrain_delta --study studies/autotrain_mobilenet_v3_small_cifar10.toml

Writes ``benchmarks/results/autotrain_delta_<dataset>.json`` and ``.md`` (with ``--study``:
``autotrain_delta_<file stem without "autotrain_">``). For a network without stochastic depth
(torchvision's ResNet and MobileNet) the default recipe's stochastic depth is 0, as in the search.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from optnas.space import IntRange, Recipe
from optnas.studies import best_feasible, load_data, load_study_file, run_study
from optnas.train import train_and_evaluate

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", choices=("cifar10", "digits"), default="cifar10")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=3, help="stage-1 batch size m")
    ap.add_argument("--batches", type=int, default=2, help="stage-1 batches T")
    ap.add_argument("--final", type=int, default=3, help="stage-2 batch size K")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--study", type=Path, default=None, help="an autotrain study file (default: by --dataset)")
    args = ap.parse_args(argv)
    study_file = args.study or REPO / "studies" / f"autotrain_{args.dataset}.toml"
    label = study_file.stem.removeprefix("autotrain_") if args.study else args.dataset
    config = load_study_file(study_file)
    space = config.space.override({"epochs": IntRange(args.epochs, args.epochs)})
    config = dataclasses.replace(
        config,
        space=space,
        seed=args.seed,
        sampler={
            **config.sampler,
            "batch_size": args.batch_size,
            "n_batches": args.batches,
            "final_batch_size": args.final,
            "pool_size": 256,
        },
        n_trials=None,
    )
    data = load_data(config)
    arch = space.fixed_arch
    if arch is None:
        raise SystemExit("the study file must fix the architecture")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        study = run_study(config, storage_url=f"sqlite:///{tmp}/autotrain.db", study_name="autotrain-delta")
        best = best_feasible(study, 1)[0]
        found = Recipe(**best.user_attrs["recipe"])
        n_trials = len(study.trials)
    search_s = time.perf_counter() - t0
    default = dataclasses.replace(Recipe(), epochs=args.epochs)
    if "stochastic_depth" in space.fixed_values():  # e.g. 0 for a torchvision ResNet/MobileNet
        default = dataclasses.replace(default, stochastic_depth=float(space.fixed_values()["stochastic_depth"]))
    found = dataclasses.replace(found, epochs=args.epochs)
    rows = {}
    for name, recipe in (("default", default), ("autotrain", found)):
        res = train_and_evaluate(
            arch, recipe, data, seed=args.seed, evaluate_test=data.test_x is not None, num_threads=1
        )
        rows[name] = {"recipe": recipe.to_dict(), "val_acc": res.accuracy, "test_acc": res.test_accuracy}
        print(name, rows[name], flush=True)
    command = "python -m benchmarks.autotrain_delta " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {
        "command": command.strip(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "arch": str(arch),
        "epochs": args.epochs,
        "search_trials": n_trials,
        "search_seconds": round(search_s, 1),
        "dataset": data.summary(),
    }
    out = REPO / "benchmarks" / "results" / f"autotrain_delta_{label}"
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2, default=str))
    d, a = rows["default"], rows["autotrain"]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    lines = [
        f"# AutoTrain delta on {label} (FBNetV3 Table 2 style)",
        "",
        f"`{meta['command']}` — {meta['date']}, {meta['cores']} cores. Fixed architecture `{arch}`, "
        f"{args.epochs} epochs both sides, seed {args.seed}; the search ran {n_trials} trials in {search_s:.0f} s.",
        "",
        "| recipe | val acc | test acc |",
        "|---|---:|---:|",
        f"| default `Recipe()` | {fmt(d['val_acc'])} | {fmt(d['test_acc'])} |",
        f"| AutoTrain (found) | {fmt(a['val_acc'])} | {fmt(a['test_acc'])} |",
        "",
        f"Found recipe: `{json.dumps(a['recipe'])}`",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
