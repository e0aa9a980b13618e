"""The augmentation study kinds: AutoAugment (PPO controller) and RandAugment (grid search).

Both kinds train one fixed *child model* per trial on the study's (reduced) training set, with
the trial's augmentation applied after the standard pad + crop (+ flip), and return its
validation accuracy (AutoAugment, Cubuk et al. 2019, Sec. 3 and 4.1; RandAugment, Cubuk et al.
2020, Sec. 3-4).

* ``autoaugment``: the sampler is :class:`optnas.samplers.PPOSampler` configured by the file's
  ``[sampler]`` table (``batch_size``, ``learning_rate``, ``entropy_weight``, ``baseline_decay``,
  ``clip``, ``hidden_size``, ``ppo_epochs``; its seed is ``study.seed``). Each trial suggests a
  5-sub-policy policy with :func:`optnas.augment.suggest_policy`.
* ``randaugment``: the sampler is :class:`optuna.samplers.GridSampler` over the parameters ``N``
  (ops per image) and ``M`` (shared magnitude) built by :func:`randaugment_grid`; its grid size
  is the study's default target (``default_n_trials``). Each trial trains with
  :func:`optnas.augment.rand_augment` ``(N, M)``.

The child model
---------------
* Architecture: ``space.arch`` when the study file gives one; otherwise the *smallest*
  architecture of the ``space.preset`` (``cifar`` or ``digits``; every architecture dimension at
  its low end, ``[space.fixed]`` values kept) at the dataset's native image size clipped into the
  preset's resolution range (digits: 8 px, CIFAR-10: 32 px). See :func:`child_arch`.
* Recipe: :data:`CHILD_RECIPE` (plain SGD with cosine schedule, no mixup, label smoothing,
  dropout, drop-path or EMA, so that augmentation is the only regularizer being searched),
  then every recipe dimension the space fixes (the preset's single-valued ones such as
  ``epochs``/``batch_size``/``warmup_epochs``, and ``[space.fixed]``), then the ``[augment.recipe]``
  table. ``[train] epochs`` overrides the epoch budget, as for the other kinds. See
  :func:`child_recipe`.
* Seed: ``study.seed`` for every trial (common random numbers: the policies are compared on
  the same initialization and batch order, and a retried trial reproduces the original).

The ``[augment]`` table
-----------------------
::

    [augment]
    n = [1, 2, 3]              # randaugment: grid of N (ops per image), default [1, 2, 3]
    m = [5, 9, 13]             # randaugment: grid of M (magnitude index), default [5, 9, 13]
    num_magnitude_bins = 31    # randaugment: M indexes this many levels (31: M = 30 is the
                               #   AutoAugment maximum, torchvision's convention)
    prune = true               # let the study's pruner stop poor children after an epoch
    baselines = ["none", "trivialaugment", "autoaugment:cifar10"]   # for evaluate_baselines()
    [augment.recipe]           # child-recipe overrides (any optnas.space.Recipe field)
    epochs = 4
    lr = 0.05

With ``prune = false`` the child always trains its full budget and its curve is reported to
Optuna after training (AutoAugment trains every child fully, and a pruned trial is not a PPO
rollout). Unknown keys and bad values raise :class:`~optnas.ConfigError` naming the key.

Baselines (:func:`evaluate_baselines`) train the same child with no extra augmentation
(standard crop + flip only), TrivialAugment and the published AutoAugment policies, and store
the results as study user attributes ``baseline:<name>`` so a report can compare the found
policies with them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
from optuna.samplers import BaseSampler, GridSampler

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas.space import AnyArch, Choice, IntRange, JointSpace, Recipe
from optnas.studies._kinds import REGISTRY
from optnas.studies._weights import offer_weights

if TYPE_CHECKING:
    from optnas.augment import Policy
    from optnas.data import ImageData
    from optnas.studies._schema import StudyConfig
    from optnas.train import TrainResult

__all__ = [
    "AUTOAUGMENT_OPTIONS",
    "BASELINES",
    "CHILD_RECIPE",
    "DEFAULT_M",
    "DEFAULT_N",
    "M_PARAM",
    "N_PARAM",
    "POLICY_ATTR",
    "AugmentObjective",
    "AugmentSettings",
    "RandAugmentGridSampler",
    "attach_pairing_pool",
    "augment_settings",
    "baseline_pipeline",
    "child_arch",
    "child_recipe",
    "evaluate_baselines",
    "make_augment_objective",
    "make_augment_sampler",
    "randaugment_grid",
]

#: RandAugment's Optuna parameter names.
N_PARAM = "N"
M_PARAM = "M"
#: Default RandAugment grid: N in {1, 2, 3} (the paper's range of N) and three magnitudes on
#: torchvision's 0-30 scale (:func:`optnas.augment.rand_augment`), 9 trials.
DEFAULT_N: tuple[int, ...] = (1, 2, 3)
DEFAULT_M: tuple[int, ...] = (5, 9, 13)
_DEFAULT_BINS = 31

#: Trial user attribute holding the trial's augmentation (a policy JSON string for
#: AutoAugment, ``"randaugment:N,M"`` for RandAugment) for the dashboard and exports.
POLICY_ATTR = "policy"

#: ``[sampler]`` options of an AutoAugment study (keyword arguments of ``PPOSampler``).
AUTOAUGMENT_OPTIONS: tuple[str, ...] = (
    "batch_size",
    "learning_rate",
    "entropy_weight",
    "baseline_decay",
    "clip",
    "hidden_size",
    "ppo_epochs",
)
_INT_OPTIONS = {"batch_size", "hidden_size", "ppo_epochs"}

#: Baseline augmentations of :func:`evaluate_baselines`, each on top of the standard crop + flip.
BASELINES: tuple[str, ...] = (
    "none",
    "trivialaugment",
    "autoaugment:cifar10",
    "autoaugment:imagenet",
    "autoaugment:svhn",
)

#: The child's recipe where the space does not fix a value (see :func:`child_recipe`).
CHILD_RECIPE: Mapping[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.05,
    "weight_decay": 5e-4,
    "momentum": 0.9,
    "mixup_alpha": 0.0,
    "dropout": 0.0,
    "stochastic_depth": 0.0,
    "ema": False,
    "label_smoothing": 0.0,
}



# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AugmentSettings:
    """The validated ``[augment]`` table of an augmentation study.

    Attributes:
        kind: ``"autoaugment"`` or ``"randaugment"``.
        n_values: RandAugment grid of N.
        m_values: RandAugment grid of M.
        num_magnitude_bins: Number of magnitude levels M indexes (RandAugment).
        recipe: Child-recipe overrides, as ``(field, value)`` pairs.
        prune: Whether the trainer reports to the pruner during training.
        baselines: Baselines :func:`evaluate_baselines` trains by default.
    """

    kind: str
    n_values: tuple[int, ...] = DEFAULT_N
    m_values: tuple[int, ...] = DEFAULT_M
    num_magnitude_bins: int = _DEFAULT_BINS
    recipe: tuple[tuple[str, Any], ...] = ()
    prune: bool = True
    baselines: tuple[str, ...] = BASELINES


def _int_list(key: str, value: Any, low: int, high: int | None) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, value, f"expected a non-empty list of integers, got {validate.kind_of(value)}")
    for i, item in enumerate(value):
        validate.integer(f"{key}[{i}]", item, low=low, high=high)
    if len(set(value)) != len(value):
        raise ConfigError(key, value, "values must be distinct")
    return tuple(value)


def augment_settings(config: StudyConfig) -> AugmentSettings:
    """Validate ``config.augment`` for the study's kind.

    Raises:
        ConfigError: naming ``augment.<key>`` for an unknown key or a bad value.
    """
    kind = config.kind
    keys = REGISTRY[kind].augment_keys if kind in REGISTRY else None
    if keys is None:
        raise ConfigError("study.kind", kind, "not an augmentation study kind (autoaugment, randaugment)")
    table = dict(config.augment)
    for key in table:
        if key not in keys:
            raise ConfigError(
                f"augment.{key}", table[key], f"unknown key for a {kind} study; expected one of {list(keys)}"
            )
    bins = validate.integer("augment.num_magnitude_bins", table.get("num_magnitude_bins", _DEFAULT_BINS), low=2)
    n_values = _int_list("augment.n", table["n"], 0, None) if "n" in table else DEFAULT_N
    if "m" in table:
        m_values = _int_list("augment.m", table["m"], 0, bins - 1)
    else:
        m_values = DEFAULT_M
        if max(m_values) > bins - 1:
            raise ConfigError("augment.num_magnitude_bins", bins, f"the default M grid {list(DEFAULT_M)} needs >= 14")
    prune = validate.boolean("augment.prune", table.get("prune", True))
    baselines = table.get("baselines", list(BASELINES))
    if not isinstance(baselines, list) or not all(isinstance(b, str) for b in baselines):
        raise ConfigError("augment.baselines", baselines, "expected a list of baseline names")
    for name in baselines:
        if name not in BASELINES:
            raise ConfigError("augment.baselines", name, f"unknown baseline; expected one of {list(BASELINES)}")
    recipe = validate.table("augment.recipe", table.get("recipe", {}))
    known = {f.name for f in dataclasses.fields(Recipe)}
    for key in recipe:
        if key not in known:
            raise ConfigError(
                f"augment.recipe.{key}", recipe[key], f"unknown recipe field; expected one of {sorted(known)}"
            )
    if config.train.augment is not None:
        raise ConfigError(
            "train.augment", config.train.augment, f"a {kind} study searches the augmentation itself; remove it"
        )
    settings = AugmentSettings(
        kind=kind,
        n_values=n_values,
        m_values=m_values,
        num_magnitude_bins=bins,
        recipe=tuple(sorted(recipe.items())),
        prune=prune,
        baselines=tuple(baselines),
    )
    child_recipe(config, settings)  # validates the recipe values
    return settings


# --- samplers -------------------------------------------------------------------------------------


def randaugment_grid(settings: AugmentSettings) -> dict[str, list[int]]:
    """The RandAugment search space for :class:`optuna.samplers.GridSampler`: ``{"N": [...], "M": [...]}``."""
    return {N_PARAM: list(settings.n_values), M_PARAM: list(settings.m_values)}


class RandAugmentGridSampler(GridSampler):
    """``GridSampler`` over RandAugment's (N, M) that states its grid size as the target.

    RandAugment (Cubuk et al. 2020, Sec. 3) replaces a policy search by a grid search over the
    number of ops ``N`` and their shared magnitude ``M``. :func:`optnas.studies.run_study` runs
    :attr:`default_n_trials` trials when the study file gives no ``n_trials``: every grid
    point once.

    Args:
        search_space: ``{"N": [...], "M": [...]}`` (see :func:`randaugment_grid`).
        seed: Seed of the order in which the grid points are visited.
    """

    def __init__(self, search_space: Mapping[str, Sequence[int]], *, seed: int | None = None) -> None:
        super().__init__({k: list(v) for k, v in search_space.items()}, seed=seed)
        self._grid_size = math.prod(len(v) for v in search_space.values())

    @property
    def default_n_trials(self) -> int:
        """Number of grid points."""
        return self._grid_size


def _ppo_options(config: StudyConfig) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for key, value in config.sampler.items():
        if key == "seed":
            raise ConfigError("sampler.seed", value, "the sampler is seeded by study.seed; remove it")
        if key not in AUTOAUGMENT_OPTIONS:
            raise ConfigError(
                f"sampler.{key}", value, f"unknown PPOSampler option; expected one of {list(AUTOAUGMENT_OPTIONS)}"
            )
        if key in _INT_OPTIONS:
            validate.integer(f"sampler.{key}", value)
        else:
            validate.number(f"sampler.{key}", value)
        opts[key] = value
    return opts


def make_augment_sampler(config: StudyConfig) -> BaseSampler:
    """The sampler of an ``autoaugment`` or ``randaugment`` study (module docstring).

    Also validates the ``[augment]`` table, so that a bad study file fails before any storage
    write (:func:`optnas.studies.run_study` builds the sampler first).

    Raises:
        ConfigError: naming ``sampler.<key>`` or ``augment.<key>``.
    """
    settings = augment_settings(config)
    if config.kind == "randaugment":
        for key, value in config.sampler.items():
            raise ConfigError(
                f"sampler.{key}",
                value,
                "a randaugment study grid-searches N and M; set the grid with [augment] n and m",
            )
        return RandAugmentGridSampler(randaugment_grid(settings), seed=config.seed)
    from optnas.samplers import PPOSampler

    opts = _ppo_options(config)
    try:
        sampler: BaseSampler = PPOSampler(seed=config.seed, **opts)
    except ConfigError as exc:
        field = "sampler.ppo_epochs" if exc.field == "epochs" else f"sampler.{exc.field}"
        raise ConfigError(field, exc.value, exc.reason) from None
    return sampler


# --- the child model ------------------------------------------------------------------------------


def _lowest(spec: Any) -> Any:
    return spec.values[0] if isinstance(spec, Choice) else spec.low


def _resolution(spec: Any, image_size: int) -> int:
    if isinstance(spec, IntRange):
        values = list(range(spec.low, spec.high + 1, spec.step))
    elif isinstance(spec, Choice):
        values = sorted(int(v) for v in spec.values)  # type: ignore[arg-type]
    else:
        raise ConfigError("space.resolution", spec, "expected an integer range or choice")
    fitting = [v for v in values if v >= image_size]
    return min(fitting) if fitting else max(values)


def child_arch(space: JointSpace, image_size: int) -> AnyArch:
    """The child architecture of an augmentation study.

    ``space.fixed_arch`` (the study file's ``space.arch``) when set. Otherwise the smallest
    architecture of the space: every free architecture dimension at its low end (first kernel
    choice, lowest expansion, width and depth; ``[space.fixed]`` values kept), at the smallest
    resolution of the space's range that is at least ``image_size`` (else the largest). With the
    presets: ``digits`` gives a 3-stage 8 px network, ``cifar`` a 5-stage 32 px network of about
    40k parameters and 1.3 M MACs.

    Args:
        space: the study's space (``config.space``).
        image_size: the dataset's native image side length.
    """
    if space.fixed_arch is not None:
        return space.fixed_arch
    params: dict[str, Any] = {}
    for dim in space.dims:
        params[dim.name] = _resolution(dim.spec, image_size) if dim.name == "resolution" else _lowest(dim.spec)
    arch, _ = space.decode_params(params)
    return arch


def child_recipe(config: StudyConfig, settings: AugmentSettings | None = None) -> Recipe:
    """The child's fixed training recipe (module docstring, "The child model").

    Precedence, lowest first: :data:`CHILD_RECIPE`, the ``optnas.space.Recipe`` defaults for
    fields it does not name, recipe dimensions the space fixes (single-valued preset ranges and
    ``[space.fixed]``), then ``[augment.recipe]``.

    Raises:
        ConfigError: naming ``augment.recipe.<field>`` for an invalid override.
    """
    settings = settings if settings is not None else augment_settings(config)
    names = {f.name for f in dataclasses.fields(Recipe)}
    values: dict[str, Any] = dict(CHILD_RECIPE)
    values.update((k, v) for k, v in config.space.fixed_values().items() if k in names)
    for key in ("epochs", "batch_size"):
        values[key] = int(values.get(key, getattr(Recipe, key)))
    overrides = dict(settings.recipe)
    values.update(overrides)
    try:
        return Recipe(**values)
    except ConfigError as exc:
        field = f"augment.recipe.{exc.field}" if exc.field in overrides else f"recipe.{exc.field}"
        raise ConfigError(field, exc.value, exc.reason) from None


# --- augmentation pipelines -----------------------------------------------------------------------


def _transforms(pipeline: Any) -> Iterable[Any]:
    children = getattr(pipeline, "transforms", None)
    if children is None:
        yield pipeline
        return
    for child in children:
        yield from _transforms(child)


def attach_pairing_pool(pipeline: Any, images: Any) -> Any:
    """Give every ``SamplePairing`` op of ``pipeline`` ``images`` as its partner pool; returns it."""
    from optnas.augment import SamplePairing

    for transform in _transforms(pipeline):
        if isinstance(transform, SamplePairing):
            transform.set_pool(images)
    return pipeline


def baseline_pipeline(name: str, *, seed: int | None = None) -> Any:
    """The extra augmentation of a baseline of :data:`BASELINES` (``None`` for ``"none"``).

    ``trivialaugment`` is TrivialAugment wide (Müller & Hutter 2021); ``autoaugment:<name>``
    the published AutoAugment policy searched on ``<name>`` (Cubuk et al. 2019, Appendix).
    """
    from optnas.augment import published_policy, trivial_augment

    if name not in BASELINES:
        raise ConfigError("baseline", name, f"unknown baseline; expected one of {list(BASELINES)}")
    if name == "none":
        return None
    if name == "trivialaugment":
        return trivial_augment(seed=seed)
    return published_policy(name.split(":", 1)[1]).to_albumentations(seed=seed)


# --- the objective --------------------------------------------------------------------------------


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
        settings: the ``[augment]`` table.
        seed: training seed shared by every trial.
        train: the ``[train]`` table (``epochs``, ``num_threads``, ``device``).
    """

    kind: str
    data: ImageData
    arch: AnyArch
    recipe: Recipe
    settings: AugmentSettings
    seed: int = 0
    train: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def pipeline(self, trial: optuna.trial.BaseTrial) -> tuple[Any, str]:
        """Suggest the trial's augmentation: ``(albumentations pipeline, description)``."""
        if self.kind == "autoaugment":
            from optnas.augment import suggest_policy

            policy: Policy = suggest_policy(trial)
            return policy.to_albumentations(seed=self.seed), policy.to_json(indent=None)
        from optnas.augment import rand_augment

        n = trial.suggest_categorical(N_PARAM, self.settings.n_values)
        m = trial.suggest_categorical(M_PARAM, self.settings.m_values)
        bins = self.settings.num_magnitude_bins
        return rand_augment(int(n), int(m), num_magnitude_bins=bins, seed=self.seed), f"randaugment:{n},{m}"

    def fit(
        self, augment: Any, *, trial: optuna.trial.BaseTrial | None = None, evaluate_test: bool = False
    ) -> TrainResult:
        """Train the child with ``augment`` after the standard crop + flip (``None``: those only).

        ``SamplePairing`` ops get the training images (at the child's resolution) as partners.
        """
        from optnas.train import train_and_evaluate

        if augment is not None:
            attach_pairing_pool(augment, self.data.resized("train", self.arch.resolution))
        epochs = self.train.get("epochs")
        return train_and_evaluate(
            self.arch,
            self.recipe,
            self.data,
            trial=trial,
            seed=self.seed,
            epochs=int(epochs) if epochs is not None else None,
            augment=augment,
            evaluate_test=evaluate_test,
            device=self.train.get("device", "cpu"),
            num_threads=self.train.get("num_threads"),
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
        epochs = self.train.get("epochs")
        full = int(epochs) if epochs is not None else self.recipe.epochs
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
        train=dict(config.train),
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
