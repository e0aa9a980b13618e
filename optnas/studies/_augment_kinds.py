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
rollout). The table is parsed once with the study file into the kind's typed section
(:class:`AutoAugmentSection` or :class:`RandAugmentSection`); unknown keys and bad values raise
:class:`~optnas.ConfigError` naming the key path and value (``augment.m[0]=99: ...``).

Baselines (:func:`evaluate_baselines`) train the same child with no extra augmentation
(standard crop + flip only), TrivialAugment and the published AutoAugment policies, and store
the results as study user attributes ``baseline:<name>`` so a report can compare the found
policies with them.
"""

from __future__ import annotations

from optnas.studies._augment_child import child_arch, child_recipe
from optnas.studies._augment_objective import AugmentObjective, evaluate_baselines, make_augment_objective
from optnas.studies._augment_pipelines import attach_pairing_pool, baseline_pipeline
from optnas.studies._augment_sampler import (
    RandAugmentGridSampler,
    autoaugment_sampler,
    make_augment_sampler,
    randaugment_grid,
    randaugment_sampler,
)
from optnas.studies._augment_settings import (
    AUTOAUGMENT_OPTIONS,
    BASELINES,
    CHILD_RECIPE,
    DEFAULT_M,
    DEFAULT_N,
    M_PARAM,
    N_PARAM,
    POLICY_ATTR,
    AugmentSettings,
    AutoAugmentSection,
    AutoAugmentSettings,
    RandAugmentSection,
    RandAugmentSettings,
    augment_settings,
    check_augment_study,
)

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
    "AutoAugmentSection",
    "AutoAugmentSettings",
    "RandAugmentGridSampler",
    "RandAugmentSection",
    "RandAugmentSettings",
    "attach_pairing_pool",
    "augment_settings",
    "autoaugment_sampler",
    "baseline_pipeline",
    "check_augment_study",
    "child_arch",
    "child_recipe",
    "evaluate_baselines",
    "make_augment_objective",
    "make_augment_sampler",
    "randaugment_grid",
    "randaugment_sampler",
]
