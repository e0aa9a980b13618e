"""Exponential moving average of the weights (FBNetV3, Dai et al., 2021, Table 1: "EMA").

:func:`make_ema` wraps the model in ``torch.optim.swa_utils.AveragedModel`` with
``use_buffers=True`` (BatchNorm statistics are averaged too) and an EMA update whose decay
is warmed up as in TensorFlow's ``ExponentialMovingAverage(num_updates=step)``, which the
MnasNet/EfficientNet reference trainers use: ``decay_t = min(decay, (1 + t) / (10 + t))``
after ``t`` updates. A fixed decay (``torch.optim.swa_utils.get_ema_multi_avg_fn``) keeps a
weight of ``decay**t`` on the random initialization, which dominates the short budgets of a
search (0.99**100 = 0.37 after 100 steps); the warm-up removes that bias and converges to
the fixed-decay average for long runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

__all__ = ["ema_decay_at", "make_ema"]


def ema_decay_at(decay: float, updates: int) -> float:
    """Effective decay of the update that follows ``updates`` earlier updates."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


_Tensors = tuple[torch.Tensor, ...] | list[torch.Tensor]


def _warmup_ema(decay: float) -> Callable[[_Tensors, _Tensors, torch.Tensor | int], None]:
    @torch.no_grad()
    def update(ema: _Tensors, current: _Tensors, n_averaged: torch.Tensor | int) -> None:
        d = ema_decay_at(decay, int(n_averaged))
        if torch.is_floating_point(ema[0]):
            torch._foreach_lerp_(ema, current, 1.0 - d)
        else:  # integer buffers (BatchNorm's num_batches_tracked): follow the model
            for e, c in zip(ema, current, strict=True):
                e.copy_(c)

    return update


def make_ema(model: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of ``model``; call ``ema.update_parameters(model)`` after every step."""
    return AveragedModel(model, multi_avg_fn=_warmup_ema(decay), use_buffers=True)
