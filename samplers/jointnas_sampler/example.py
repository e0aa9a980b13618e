"""JointNASSampler on two synthetic objectives (nothing is trained; about a minute).

1. optnas' own JointSpace (the ``digits`` preset, exact analytic costs).
2. A user's own search space defined with ``trial.suggest_*``: width, depth, kernel size and
   activation of a stack of torchvision ``Conv2dNormActivation`` blocks, plus the learning rate,
   with exact MACs/params from ``optnas.cost.count_model`` (built on the meta device) and a
   parameter budget no proposal exceeds.


Run from anywhere: ``python samplers/jointnas_sampler/example.py``. Nothing is trained: the
"accuracy" of a candidate rises with its MACs and peaks at a learning rate of about 0.03, so the
search must trade cost against the constraint and tune the recipe at the same time.
"""

from __future__ import annotations

import math
import os
from typing import Any

import optuna
import optunahub
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from torch import nn
from torchvision.ops import Conv2dNormActivation

from optnas.constraints import Constraint, max_macs
from optnas.cost import count, count_model
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



# --- 2. JointNAS on a user's own search space (a torchvision-built CNN family) ----------------
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "hardswish": nn.Hardswish}


def build(p: dict[str, Any]) -> nn.Module:
    """The family: ``depth`` conv blocks of ``width`` channels, global pooling, a classifier."""
    act = ACTIVATIONS[p["act"]]
    layers: list[nn.Module] = [Conv2dNormActivation(3, p["width"], 3, stride=2, activation_layer=act)]
    for _ in range(p["depth"]):
        layers.append(Conv2dNormActivation(p["width"], p["width"], p["kernel"], activation_layer=act))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(p["width"], 10)]
    return nn.Sequential(*layers)


user_cost = count_model(build, input_shape=(1, 3, 32, 32))
# The space the objective suggests. Given up front, even the first trial is planned under the
# constraint; left out (search_space=None), JointNAS infers it from the trials as GPSampler does,
# and the very first trial, sampled before any space is known, is not checked.
SPACE = {
    "width": IntDistribution(8, 64, step=8),
    "depth": IntDistribution(1, 6),
    "kernel": CategoricalDistribution([3, 5]),
    "act": CategoricalDistribution(["relu", "hardswish"]),
    "lr": FloatDistribution(1e-4, 1.0, log=True),
}
param_budget = Constraint("params", 60_000)
user_sampler = module.JointNASSampler(
    search_space=SPACE,
    cost=user_cost,  # exact MACs/params of each candidate, before any training
    constraints=[param_budget],
    arch_params=["width", "depth", "kernel", "act"],  # the encoder's input (FBNetV3 Fig. 4)
    batch_size=4,
    n_batches=3,
    final_batch_size=4,
    pool_size=256,
    seed=0,
)


def user_objective(trial: optuna.Trial) -> float:
    p = {
        "width": trial.suggest_int("width", 8, 64, step=8),
        "depth": trial.suggest_int("depth", 1, 6),
        "kernel": trial.suggest_categorical("kernel", [3, 5]),
        "act": trial.suggest_categorical("act", ["relu", "hardswish"]),
    }
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    c = user_cost(p)  # cached: the sampler already counted (and recorded the constraint of) this candidate
    bonus = 0.01 if p["act"] == "hardswish" else 0.0
    return 0.4 + 0.05 * math.log(c["macs"] / 1e5) - 0.05 * (math.log10(lr) + 2) ** 2 + bonus


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

    # 2. the user's own space: the cost budget holds for every proposal
    study = optuna.create_study(direction="maximize", sampler=user_sampler)
    study.optimize(user_objective, n_trials=user_sampler.n_planned)
    worst = max(user_cost({k: v for k, v in t.params.items() if k != "lr"})["params"] for t in study.trials)
    print(f"largest candidate proposed: {worst:.0f} params (budget {param_budget.limit:.0f})")
    top = study.best_trial
    print(f"user space: best trial {top.number}: value {top.value:.3f}, params {top.params}")
