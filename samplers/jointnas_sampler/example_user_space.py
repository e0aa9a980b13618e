"""JointNASSampler on a user's own search space: a torchvision-built CNN family (< 1 minute).

Run from anywhere: ``python samplers/jointnas_sampler/example_user_space.py``. The space is
defined with ``trial.suggest_*`` only (no optnas space): width, depth, kernel size and
activation of a stack of torchvision ``Conv2dNormActivation`` blocks, plus the learning rate.
Exact MACs and parameters come from ``optnas.cost.count_model`` (the module is built on the
meta device), so a candidate over the parameter budget is never proposed. Nothing is trained:
the "accuracy" rises with log MACs and peaks at a learning rate of about 0.01.
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

from optnas.constraints import Constraint
from optnas.cost import count_model

REGISTRY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
module = optunahub.load_local_module(package="jointnas_sampler", registry_root=REGISTRY_ROOT)

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "hardswish": nn.Hardswish}


def build(p: dict[str, Any]) -> nn.Module:
    """The family: ``depth`` conv blocks of ``width`` channels, global pooling, a classifier."""
    act = ACTIVATIONS[p["act"]]
    layers: list[nn.Module] = [Conv2dNormActivation(3, p["width"], 3, stride=2, activation_layer=act)]
    for _ in range(p["depth"]):
        layers.append(Conv2dNormActivation(p["width"], p["width"], p["kernel"], activation_layer=act))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(p["width"], 10)]
    return nn.Sequential(*layers)


cost = count_model(build, input_shape=(1, 3, 32, 32))
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
budget = Constraint("params", 60_000)
sampler = module.JointNASSampler(
    search_space=SPACE,
    cost=cost,  # exact MACs/params of each candidate, before any training
    constraints=[budget],
    arch_params=["width", "depth", "kernel", "act"],  # the encoder's input (FBNetV3 Fig. 4)
    batch_size=4,
    n_batches=3,
    final_batch_size=4,
    pool_size=256,
    seed=0,
)


def objective(trial: optuna.Trial) -> float:
    p = {
        "width": trial.suggest_int("width", 8, 64, step=8),
        "depth": trial.suggest_int("depth", 1, 6),
        "kernel": trial.suggest_categorical("kernel", [3, 5]),
        "act": trial.suggest_categorical("act", ["relu", "hardswish"]),
    }
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    c = cost(p)  # cached: the sampler already counted this candidate
    trial.set_constraint(budget.name, budget.value(c))
    bonus = 0.01 if p["act"] == "hardswish" else 0.0
    return 0.4 + 0.05 * math.log(c["macs"] / 1e5) - 0.05 * (math.log10(lr) + 2) ** 2 + bonus


if __name__ == "__main__":
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=sampler.n_planned)
    worst = max(cost({k: v for k, v in t.params.items() if k != "lr"})["params"] for t in study.trials)
    print(f"largest candidate proposed: {worst:.0f} params (budget {budget.limit:.0f})")
    best = study.best_trial
    print(f"best trial {best.number}: value {best.value:.3f}, params {best.params}")
