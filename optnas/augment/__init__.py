"""Augmentation ops and policies over albumentations (AutoAugment, RandAugment, TrivialAugment).

* :func:`make_op` — one of the 16 AutoAugment ops (:data:`OP_NAMES`) as an albumentations
  transform at a magnitude bin, with PIL/torchvision reference semantics.
* :class:`Policy`/:class:`SubPolicy`/:class:`PolicyOp` — AutoAugment policies, with
  ``to_albumentations()`` and a JSON format of their own; :func:`published_policy` for the
  ImageNet/CIFAR-10/SVHN policies.
* :func:`rand_augment` and :func:`trivial_augment` — the search-free baselines.
* :func:`suggest_policy`/:func:`policy_from_params` — the search space as Optuna parameters.

Importing this package does not import torch.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from optnas.augment._ops import SamplePairing
from optnas.augment._policy import Policy, PolicyOp, SubPolicy
from optnas.augment._published import PUBLISHED_POLICIES, published_policy
from optnas.augment._rand import rand_augment, trivial_augment
from optnas.augment._suggest import policy_from_params, suggest_policy
from optnas.augment._table import (
    AUTOAUGMENT_SPACE,
    MAGNITUDE_BINS,
    OP_NAMES,
    PROBABILITY_BINS,
    RANDAUGMENT_OPS,
    OpSpec,
    make_op,
)

__all__ = [
    "AUTOAUGMENT_SPACE",
    "MAGNITUDE_BINS",
    "OP_NAMES",
    "PROBABILITY_BINS",
    "PUBLISHED_POLICIES",
    "RANDAUGMENT_OPS",
    "OpSpec",
    "Policy",
    "PolicyOp",
    "SamplePairing",
    "SubPolicy",
    "make_op",
    "policy_from_params",
    "published_policy",
    "rand_augment",
    "suggest_policy",
    "trivial_augment",
]
