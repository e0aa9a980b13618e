"""Objectives of the study kinds.

JointNAS / AutoTrain (FBNetV3, Dai et al., 2021, Algorithm 1): decode the trial's parameters into
an ``Arch`` + ``Recipe``, compute the exact cost, record the constraints
(``trial.set_constraint`` plus user-attribute mirrors), and, only for a feasible candidate, build,
train on the study's dataset with per-epoch reports, and return the validation accuracy. The
epoch budget is the early-stopping criterion the sampler assigned (``epoch_budget``), else the
study file's ``train.epochs``, else the recipe's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from optnas._errors import ConfigError
from optnas.constraints import Constraint, record
from optnas.space import JointSpace

__all__ = ["INFEASIBLE_VALUE", "JointNASObjective"]

#: Value returned for a candidate that violates a constraint (it is never trained).
INFEASIBLE_VALUE = 0.0


@dataclass
class JointNASObjective:
    """``objective(trial) -> validation accuracy`` for JointNAS and AutoTrain studies.

    Args:
        space: the searched space.
        data: an :class:`optnas.data.ImageData`.
        constraints: resource constraints recorded on every trial.
        seed: training seed, shared by every candidate (common random numbers make rankings
            less noisy, and a retried trial reproduces the original's run).
        train: ``train`` section of the study file (``epochs``, ``num_threads``, ``device``,
            ``augment``: ``"standard"`` (pad + random crop + flip, the default), ``"none"``, or an
            extra policy on top of the standard one: a published AutoAugment policy name
            (``imagenet``, ``cifar10``, ``svhn``), ``randaugment:N,M``, ``trivialaugment`` or a policy
            JSON file, as accepted by ``optnas augment show``).
    """

    space: JointSpace
    data: Any
    constraints: Sequence[Constraint] = ()
    seed: int = 0
    train: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        spec = (self.train or {}).get("augment", "standard")
        if not isinstance(spec, str):
            raise ConfigError("train.augment", spec, "expected a string")
        self._standard = spec != "none"
        self._extra = None
        if spec not in ("standard", "none"):
            from optnas.augment._cli import load_pipeline

            try:
                self._extra = load_pipeline(spec, seed=self.seed)
            except ConfigError as exc:
                raise ConfigError("train.augment", spec, exc.reason) from None

    def __call__(self, trial: optuna.Trial) -> float:
        from optnas.cost import count
        from optnas.samplers._jointnas import epoch_budget
        from optnas.train import train_and_evaluate

        arch, recipe = self.space.suggest(trial)
        cost = count(arch, self.data.num_classes)
        trial.set_user_attr("arch", str(arch))
        trial.set_user_attr("recipe", recipe.to_dict())
        feasible = record(trial, self.constraints, cost)
        if not feasible:
            trial.set_user_attr("trained", False)
            return INFEASIBLE_VALUE
        train = dict(self.train or {})
        budget = epoch_budget(trial)
        epochs = budget if budget is not None else train.get("epochs")
        if epochs is not None:
            epochs = min(int(epochs), recipe.epochs) if budget is not None else int(epochs)
        start = time.perf_counter()
        result = train_and_evaluate(
            arch,
            recipe,
            self.data,
            trial=trial,
            seed=self.seed,
            epochs=epochs,
            device=train.get("device", "cpu"),
            num_threads=train.get("num_threads"),
            progress=False,
            augment=self._extra,
            standard_augment=self._standard,
        )
        trial.set_user_attr("trained", True)
        trial.set_user_attr("epochs_trained", result.epochs)
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("best_epoch_accuracy", result.best_accuracy)
        return float(result.accuracy)
