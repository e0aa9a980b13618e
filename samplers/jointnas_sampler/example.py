"""JointNASSampler on a synthetic objective (accuracy from the exact cost model; < 1 minute).

Run from anywhere: ``python samplers/jointnas_sampler/example.py``. Nothing is trained: the
"accuracy" of a candidate rises with its MACs and peaks at a learning rate of about 0.03, so the
search must trade cost against the constraint and tune the recipe at the same time.
"""

from __future__ import annotations

import math
import os

import optuna
import optunahub

from optnas.constraints import max_macs
from optnas.cost import count
from optnas.predictor import PredictorConfig
from optnas.samplers._jointnas import epoch_budget
from optnas.space import preset

REGISTRY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
module = optunahub.load_local_module(package="jointnas_sampler", registry_root=REGISTRY_ROOT)

space = preset("digits")  # a CPU-scale FBNetV3-shaped space: 3 block groups + the training recipe
budget = max_macs(5e5)
sampler = module.JointNASSampler(
    space=space,
    num_classes=10,
    constraints=[budget],
    batch_size=4,  # m: candidates per stage-1 batch
    n_batches=3,  # T: stage-1 batches (the first is space-filling)
    final_batch_size=4,  # K: stage-2 (predictor-guided genetic search) candidates
    pool_size=256,  # n: QMC candidates scored per batch
    seed=0,
    # A small pretraining sample keeps the demo fast. The step-2 fit is shortened too: with only
    # 12 training points the default 400 steps overfit this landscape (stage-2 mean 0.528 below
    # batch 1's 0.536), 200 do not; on real evaluations 400 rank better (benchmarks/RESULTS.md).
    predictor_config=PredictorConfig(pretrain_samples=256, pretrain_steps=100, fit_steps=200),
)


def objective(trial: optuna.Trial) -> float:
    arch, recipe = space.suggest(trial)
    macs = count(arch, 10).macs
    accuracy = 0.5 + 0.05 * math.log(macs / 1e5) - 0.05 * (math.log10(recipe.lr) + 1.5) ** 2
    epochs = epoch_budget(trial) or 4  # the early-stopping budget the sampler assigned, if any
    for epoch in range(1, epochs + 1):
        trial.report(accuracy * epoch / 4, epoch)  # learning curves decide the early-stopping budget
    return accuracy * epochs / 4


if __name__ == "__main__":
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=sampler.n_planned)
    # Batch 1 (space-filling) and the stage-2 batch are trained to the full budget, so they compare.
    first = [t for t in study.trials if t.user_attrs["batch"] == 0]
    final = [t for t in study.trials if t.user_attrs["stage"] == "stage2"]
    for name, trials in (("space-filling batch 1", first), ("stage-2 batch", final)):
        values = [t.value for t in trials if t.value is not None]
        macs = max(t.user_attrs["macs"] for t in trials)
        print(f"{name}: mean value {sum(values) / len(values):.3f}, largest MACs {macs} (budget {budget.limit:.0f})")
    epochs = study.user_attrs["early_stopping_epochs"]
    print(f"early-stopping budget for batches 2..{sampler.n_batches}: {epochs} epochs")
    best = max(final, key=lambda t: t.value or 0.0)
    macs, lr = best.user_attrs["macs"], best.params["lr"]
    print(f"best stage-2 trial {best.number}: value {best.value:.3f}, {macs} MACs, lr {lr:.3g}")
