"""PPOSampler on a synthetic reward whose optimum is a known AutoAugment policy (< 1 minute).

Run from anywhere: ``python samplers/ppo_sampler/example.py``.
"""

from __future__ import annotations

import os

import optuna
import optunahub

REGISTRY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
module = optunahub.load_local_module(package="ppo_sampler", registry_root=REGISTRY_ROOT)

# A small controller and a larger learning rate than the paper's (0.00035) so that the demo
# learns within 150 trials; leave the defaults for a real AutoAugment search.
sampler = module.PPOSampler(seed=0, batch_size=10, learning_rate=0.01, hidden_size=32)
schema = sampler.schema  # AutoAugment's 30 decisions: sp{i}_op{j}_{type,prob,mag}
target = {d.name: d.choices[(7 * k + 3) % len(d.choices)] for k, d in enumerate(schema)}


def objective(trial: optuna.Trial) -> float:
    # With optnas installed, ``optnas.augment.suggest_policy(trial)`` suggests exactly these.
    policy = {d.name: trial.suggest_categorical(d.name, d.choices) for d in schema}
    return sum(policy[name] == target[name] for name in schema.names) / len(schema)


if __name__ == "__main__":
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=150)
    values = [t.value for t in study.trials]
    first, last = sum(values[:50]) / 50, sum(values[-50:]) / 50
    print(f"mean reward: first 50 trials {first:.3f}, last 50 trials {last:.3f}")
    print(f"best value {study.best_value:.3f}")
