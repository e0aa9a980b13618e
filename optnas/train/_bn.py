"""BatchNorm running-statistics warm-up for short training budgets.

BatchNorm's running statistics start at mean 0 / variance 1 and follow an exponential moving
average with ``momentum`` (0.1 in torchvision's blocks). In MBConv networks initialized with
He fan-out initialization (as torchvision's MobileNets are) many layers have activation
variances around 1e-2 or smaller, so the initial variance of 1 dominates the estimate for
tens of steps, and because each layer feeds the next, the error compounds through depth: in
evaluation mode the network's outputs collapse to a constant and validation accuracy is
exactly chance after a short first epoch even though training-mode outputs are informative.
Search budgets are short and prune on early epochs, so this matters.

:class:`BatchNormWarmup` uses the cumulative average (``momentum=None``) for the first
``round(1 / momentum)`` steps, which replaces the initial values with the average of the
first batches' statistics, then restores each layer's own momentum: from then on the update
is the usual moving average (Ioffe & Szegedy, 2015, Sec. 3.1, use population statistics at
inference; this only removes the bias of the arbitrary starting point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from torch.nn.modules.batchnorm import _NormBase

__all__ = ["BatchNormWarmup"]

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class BatchNormWarmup:
    """Cumulative-average BatchNorm statistics for the first ``round(1 / momentum)`` steps.

    Call :meth:`step` once before every training forward pass.
    """

    def __init__(self, model: nn.Module) -> None:
        self.layers: list[tuple[_NormBase, float]] = [
            (m, float(m.momentum)) for m in model.modules() if isinstance(m, _BN) and m.momentum is not None
        ]
        self.steps = max((round(1.0 / mom) for _, mom in self.layers if mom > 0), default=0)
        self._t = 0
        for m, _ in self.layers:
            m.momentum = None

    @property
    def active(self) -> bool:
        """Whether the cumulative average is still in use."""
        return self._t <= self.steps and bool(self.layers)

    def step(self) -> None:
        """Advance one training step; restores the momenta after the warm-up."""
        if self._t == self.steps:
            for m, mom in self.layers:
                m.momentum = mom
        self._t += 1
