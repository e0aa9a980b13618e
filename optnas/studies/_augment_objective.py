"""The objective of the augmentation study kinds, and the baselines trained with the same child.

Part of the augmentation study kinds (the user documentation is :mod:`optnas.studies._augment_kinds`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from optnas._errors import ConfigError
from optnas.space import AnyArch, Recipe
from optnas.studies._augment_child import child_arch, child_recipe
from optnas.studies._augment_pipelines import attach_pairing_pool, baseline_pipeline
from optnas.studies._augment_settings import POLICY_ATTR, AugmentSettings, augment_settings
from optnas.studies._sections import TrainSection
from optnas.studies._weights import offer_weights

if TYPE_CHECKING:
    from optnas.data import ImageData
    from optnas.studies._schema import StudyConfig
    from optnas.train import TrainResult

__all__ = ["AugmentObjective", "evaluate_baselines", "make_augment_objective"]


@dataclass
class AugmentObjective:
    """``objective(trial) -> validation accuracy`` of the child trained with the trial's augmentation.

    AutoAugment (Cubuk et al. 2019, Sec. 3): the trial's policy (:func:`optnas.augment.suggest_policy`)
    is applied after the standard crop + flip; its JSON is the trial's ``policy`` user attribute.
    RandAugment (Cubuk et al. 2020, Sec. 3): the trial suggests ``N`` and ``M`` (from the grid)
    and trains with ``rand_augment(N, M)``.

    Args:
        kind: ``"autoaugment"`` or ``"randaugment"``.
        data: the study's :class:`~optnas.data.ImageData`.
        arch: the child architecture (:func:`child_arch`).
        recipe: the child recipe (:func:`child_recipe`).
        settings: the ``[augment]`` table with its defaults; it suggests each trial's augmentation.
        seed: training seed shared by every trial.
        train: the ``[train]`` section (``epochs``, ``num_threads``, ``device``, ...); a mapping is
            parsed into a :class:`~optnas.studies._sections.TrainSection` (an unknown key is an
            error naming ``train.<key>``; ``train.augment`` is one too: the study searches the
            augmentation itself).
    """

    kind: str
    data: ImageData
    arch: AnyArch
    recipe: Recipe
    settings: AugmentSettings
    seed: int = 0
    train: TrainSection = dataclasses.field(default_factory=TrainSection)

    def __post_init__(self) -> None:
        self.train = TrainSection.parse(self.train)
        if self.train.augment is not None:
            raise ConfigError(
                "train.augment", self.train.augment, "an augmentation study searches the augmentation itself; remove it"
            )

    def pipeline(self, trial: optuna.trial.BaseTrial) -> tuple[Any, str]:
        """Suggest the trial's augmentation: ``(albumentations pipeline, description)`` (the kind's settings do)."""
        return self.settings.suggest(trial, self.seed)

    def fit(
        self, augment: Any, *, trial: optuna.trial.BaseTrial | None = None, evaluate_test: bool = False
    ) -> TrainResult:
        """Train the child with ``augment`` after the standard crop + flip (``None``: those only).

        ``SamplePairing`` ops get the training images (at the child's resolution) as partners.
        """
        from optnas.train import train_and_evaluate

        if augment is not None:
            attach_pairing_pool(augment, self.data.resized("train", self.arch.resolution))
        train = self.train
        return train_and_evaluate(
            self.arch,
            self.recipe,
            self.data,
            trial=trial,
            seed=self.seed,
            epochs=train.epochs,
            augment=augment,
            evaluate_test=evaluate_test,
            device=train.device or "cpu",
            num_threads=train.num_threads,
            num_workers=train.num_workers or 0,
            precision=train.precision or "fp32",
            channels_last=bool(train.channels_last),
            progress=False,
            keep_model=True,
        )

    def _record_child(self, trial: optuna.Trial) -> None:
        """The child's architecture and exact cost, as the other study kinds record them."""
        from optnas.cost import count

        cost = count(self.arch, self.data.num_classes)
        trial.set_user_attr("arch", str(self.arch))
        trial.set_user_attr("recipe", self.recipe.to_dict())
        trial.set_user_attr("macs", cost.macs)
        trial.set_user_attr("params", cost.params)

    def __call__(self, trial: optuna.Trial) -> float:
        pipeline, description = self.pipeline(trial)
        trial.set_user_attr(POLICY_ATTR, description)
        self._record_child(trial)
        start = time.perf_counter()
        result = self.fit(pipeline, trial=trial if self.settings.prune else None)
        if not self.settings.prune:
            for epoch, accuracy in enumerate(result.curve, start=1):
                trial.report(accuracy, epoch)
        trial.set_user_attr("epochs_trained", result.epochs)
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("best_epoch_accuracy", result.best_accuracy)
        if result.diverged:
            trial.set_user_attr("diverged", True)
        full = self.train.epochs if self.train.epochs is not None else self.recipe.epochs
        offer_weights(trial, result, full_epochs=full, train=self.train)  # the top-k trained children (export)
        return float(result.accuracy)


def _image_size(data: ImageData) -> int:
    return int(max(data.train_x.shape[1], data.train_x.shape[2]))


def make_augment_objective(config: StudyConfig, data: ImageData) -> AugmentObjective:
    """The objective of an ``autoaugment`` or ``randaugment`` study (module docstring)."""
    settings = augment_settings(config)
    return AugmentObjective(
        kind=config.kind,
        data=data,
        arch=child_arch(config.space, _image_size(data)),
        recipe=child_recipe(config, settings),
        settings=settings,
        seed=config.seed,
        train=config.train,
    )


def evaluate_baselines(
    config: StudyConfig,
    data: ImageData,
    *,
    study: optuna.Study | None = None,
    names: Sequence[str] | None = None,
    evaluate_test: bool = False,
) -> dict[str, dict[str, Any]]:
    """Train the study's child with each baseline augmentation (same arch, recipe and seed).

    Args:
        config: the study file.
        data: its dataset.
        study: when given, each result is stored as the study user attribute ``baseline:<name>``.
        names: baselines to train (default: ``[augment] baselines``, else :data:`BASELINES`).
        evaluate_test: also measure test accuracy (needs a dataset with a test split).

    Returns:
        ``{name: {"val_accuracy", "test_accuracy", "curve", "epochs", "seconds"}}``.
    """
    objective = make_augment_objective(config, data)
    chosen = list(names) if names is not None else list(objective.settings.baselines)
    results: dict[str, dict[str, Any]] = {}
    for name in chosen:
        pipeline = baseline_pipeline(name, seed=config.seed)
        result = objective.fit(pipeline, evaluate_test=evaluate_test)
        entry = {
            "val_accuracy": float(result.accuracy),
            "test_accuracy": result.test_accuracy,
            "curve": list(result.curve),
            "epochs": result.epochs,
            "seconds": round(result.wall_time, 3),
        }
        results[name] = entry
        if study is not None:
            study.set_user_attr(f"baseline:{name}", entry)
    return results
