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

__all__ = ["WarmupEMA", "ema_decay_at", "make_ema"]


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


class WarmupEMA(AveragedModel):
    """``AveragedModel`` whose update never reads a device tensor on the host.

    ``AveragedModel.update_parameters`` compares its ``n_averaged`` buffer with 0 and the
    warm-up decay needs the update count; on an accelerator either is a device-to-host sync
    per step. Here the count is kept on the host as well, the decay is a Python float, and
    the update is one ``torch._foreach_lerp_`` per dtype: the same arithmetic as
    ``AveragedModel(multi_avg_fn=...)`` with the warm-up decay, without the round trips.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        super().__init__(model, multi_avg_fn=_warmup_ema(decay), use_buffers=True)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model``'s parameters and buffers into this copy (copy on the first call)."""
        ema = [*self.module.parameters(), *self.module.buffers()]
        current = [*model.parameters(), *model.buffers()]
        if self.updates == 0:
            for e, c in zip(ema, current, strict=True):
                e.detach().copy_(c.detach())
        else:
            weight = 1.0 - ema_decay_at(self.decay, self.updates)
            groups: dict[tuple[torch.device, torch.dtype], tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
            for e, c in zip(ema, current, strict=True):
                if torch.is_floating_point(e):
                    es, cs = groups.setdefault((e.device, e.dtype), ([], []))
                    es.append(e.detach())
                    cs.append(c.detach())
                else:  # integer buffers (BatchNorm's num_batches_tracked): follow the model
                    e.detach().copy_(c.detach())
            for es, cs in groups.values():
                torch._foreach_lerp_(es, cs, weight)
        self.updates += 1
        self.n_averaged += 1


def make_ema(model: nn.Module, decay: float) -> WarmupEMA:
    """An EMA copy of ``model``; call ``ema.update_parameters(model)`` after every step."""
    return WarmupEMA(model, decay)
