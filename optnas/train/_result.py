"""The outcome of one training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from optnas.cost import Cost

__all__ = ["TrainResult"]


@dataclass(frozen=True)
class TrainResult:
    """What :func:`~optnas.train.train_and_evaluate` returns.

    Attributes:
        accuracy: final validation top-1 accuracy of the evaluated model (the EMA model when
            the recipe uses EMA).
        curve: validation accuracy after each trained epoch, in order.
        best_accuracy: the highest entry of ``curve``.
        epochs: number of epochs trained (fewer than the budget only when training diverged).
        wall_time: seconds for the whole call (data preparation, training, evaluation).
        train_time: seconds spent in training steps only.
        cost: exact MACs and parameters of the trained network (:func:`optnas.cost.count`).
        train_loss: mean training loss of each epoch.
        test_accuracy: top-1 accuracy on the test split when requested, else ``None``.
        diverged: the training loss became non-finite; training stopped at that epoch.
        model: the evaluated network (the EMA copy when the recipe uses EMA), an ``nn.Module``
            whose ``state_dict()`` loads into ``optnas.models.build(arch, recipe, num_classes)``;
            not part of :meth:`to_dict` or of comparisons.
    """

    accuracy: float
    curve: tuple[float, ...]
    best_accuracy: float
    epochs: int
    wall_time: float
    train_time: float
    cost: Cost
    train_loss: tuple[float, ...] = ()
    test_accuracy: float | None = None
    diverged: bool = False
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``curve`` and ``train_loss`` as lists)."""
        out = asdict(replace(self, model=None))
        del out["model"]
        out["curve"] = list(self.curve)
        out["train_loss"] = list(self.train_loss)
        out["cost"] = self.cost.to_dict()
        return out
