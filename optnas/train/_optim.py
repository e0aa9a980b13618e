"""Optimizers and the learning-rate schedule of a :class:`~optnas.space.Recipe`.

FBNetV3 (Dai et al., 2021, Sec. 3 and Table 1) searches the optimizer type (RMSProp or SGD),
the learning rate, the weight decay and whether to use an EMA of the weights; the schedule is
a linear warm-up followed by cosine decay, stepped per iteration.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from optnas.space import Recipe

__all__ = ["RMSPROP_ALPHA", "RMSPROP_EPS", "lr_factor", "make_optimizer", "make_scheduler", "param_groups"]

#: RMSProp squared-gradient decay, as in TensorFlow's RMSProp used by MnasNet/EfficientNet/FBNet.
RMSPROP_ALPHA = 0.9
#: TensorFlow adds epsilon (1e-3 in those recipes) *inside* the square root, torch outside;
#: ``sqrt(1e-3) ~= 0.0316`` outside gives the same damping for small second moments
#: (timm's RMSpropTF documents the same conversion).
RMSPROP_EPS = math.sqrt(1e-3)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two parameter groups: weights of convolutions/linears decay; BatchNorm and biases do not.

    Parameters with at most one dimension (BN scale/shift, biases) are the no-decay group,
    the common practice of large-batch and mobile-network recipes (Goyal et al., 2017, Sec. 3;
    timm's ``param_groups_weight_decay``).
    """
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over :func:`param_groups`.

    - ``sgd``: SGD with Nesterov momentum (plain SGD when momentum is 0), L2 weight decay.
    - ``rmsprop``: RMSProp with ``alpha`` :data:`RMSPROP_ALPHA`, ``eps`` :data:`RMSPROP_EPS`
      and the recipe's momentum, L2 weight decay.
    - ``adamw``: AdamW (default betas) with decoupled weight decay.
    """
    groups = param_groups(model, recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.momentum > 0)
    if recipe.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=recipe.lr, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS, momentum=recipe.momentum)
    return torch.optim.AdamW(groups, lr=recipe.lr)


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    Linear warm-up ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps, then
    half-cosine decay from 1 towards 0 over the remaining steps (Loshchilov & Hutter, 2017,
    without restarts).
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step ``LambdaLR`` of :func:`lr_factor` for ``epochs`` epochs.

    ``recipe.warmup_epochs`` (possibly fractional) is converted to steps and capped at the
    total number of steps.
    """
    total = steps_per_epoch * epochs
    warmup = min(total, round(recipe.warmup_epochs * steps_per_epoch))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, warmup, total))
