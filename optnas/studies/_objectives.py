"""Objectives of the study kinds.

JointNAS / AutoTrain (FBNetV3, Dai et al., 2021, Algorithm 1): decode the trial's parameters into
an ``Arch`` + ``Recipe``, compute the exact cost, record the constraints
(``trial.set_constraint`` plus user-attribute mirrors), and, only for a feasible candidate, build,
train on the study's dataset with per-epoch reports, and return the validation accuracy. The
schedule spans the study file's ``train.epochs``, else the recipe's; a candidate the sampler
gave an early-stopping budget (``epoch_budget``) trains only that many epochs of it, so that its
accuracy is the full run's learning curve at that epoch (FBNetV3 Sec. 3.1).

JointNAS never prunes (README): it ranks candidates on FBNetV3's early-stopping budget instead.
The objective reports every epoch's accuracy (the sampler reads the learning curves) but ignores
the study's pruner, so Optuna's default ``MedianPruner`` of a study created from Python without
``pruner=`` stops nothing, stage 2 included.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import optuna

from optnas._errors import ConfigError
from optnas.constraints import Constraint, record
from optnas.space import JointSpace
from optnas.studies._sections import TrainSection
from optnas.studies._weights import offer_weights

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
            JSON file, as accepted by ``optnas augment show``). A mapping is parsed into a
            :class:`~optnas.studies._sections.TrainSection` once: an unknown key or a bad value is
            an error naming ``train.<key>``, never ignored.
    """

    space: JointSpace
    data: Any
    constraints: Sequence[Constraint] = ()
    seed: int = 0
    train: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        self._warned_nan = False
        self._train = TrainSection.parse(self.train or {})
        spec = self._train.augment or "standard"
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
        train = self._train
        # The early-stopping budget trains the first epochs of the full schedule (equal fidelity
        # with the full runs' learning curves, which the sampler compares them with).
        budget = epoch_budget(trial)
        epochs = train.epochs
        start = time.perf_counter()
        result = train_and_evaluate(
            arch,
            recipe,
            self.data,
            trial=cast(optuna.trial.BaseTrial, _ReportOnly(trial)),
            seed=self.seed,
            epochs=epochs,
            stop_after=budget,
            device=train.device or "cpu",
            num_threads=train.num_threads,
            num_workers=train.num_workers or 0,
            precision=train.precision or "fp32",
            channels_last=bool(train.channels_last),
            progress=False,
            augment=self._extra,
            standard_augment=self._standard,
            keep_model=True,
        )
        trial.set_user_attr("trained", True)
        trial.set_user_attr("epochs_trained", result.epochs)
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("best_epoch_accuracy", result.best_accuracy)
        full = train.epochs if train.epochs is not None else recipe.epochs
        offer_weights(trial, result, full_epochs=full, train=train)  # the top-k trained networks (export)
        accuracy = float(result.accuracy)
        if not math.isfinite(accuracy) and not self._warned_nan:
            self._warned_nan = True
            warnings.warn(
                f"JointNASObjective: trial {trial.number} has a non-finite accuracy ({accuracy}); Optuna fails "
                "such trials and the sampler learns nothing from them (warned once)",
                RuntimeWarning,
                stacklevel=2,
            )
        return accuracy


@dataclass(frozen=True)
class _ReportOnly:
    """The part of a trial the trainer uses, without pruning: reports go through, ``should_prune`` is False."""

    trial: optuna.Trial

    def report(self, value: float, step: int) -> None:
        """Record the epoch's accuracy (the sampler's early-stopping budget reads the curves)."""
        self.trial.report(value, step)

    def should_prune(self) -> bool:
        """Never: JointNAS does not prune, whatever the study's pruner."""
        return False
