"""The training recipe: the hyperparameters FBNetV3 searches jointly with the architecture.

FBNetV3 (Dai et al., 2021), Sec. 3 and Table 1: optimizer type, learning rate, weight decay,
mixup ratio, dropout ratio, stochastic depth drop ratio and whether to use weight EMA. We add
momentum, EMA decay, label smoothing, the epoch budget and the batch size so that a recipe fully
determines a training run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from optnas._errors import ConfigError

__all__ = ["OPTIMIZERS", "Recipe"]

#: Optimizer names understood by :func:`optnas.train.train_and_evaluate`.
OPTIMIZERS: tuple[str, ...] = ("sgd", "rmsprop", "adamw")


def _unit(name: str, value: float, *, closed_high: bool = False) -> None:
    ok = 0.0 <= value <= 1.0 if closed_high else 0.0 <= value < 1.0
    if not (isinstance(value, int | float) and not isinstance(value, bool)) or not ok:
        interval = "[0, 1]" if closed_high else "[0, 1)"
        raise ConfigError(name, value, f"must be in {interval}")


@dataclass(frozen=True)
class Recipe:
    """A complete training recipe.

    Attributes:
        optimizer: one of :data:`OPTIMIZERS`.
        lr: peak learning rate (after warm-up), cosine-annealed to zero.
        weight_decay: L2 / decoupled weight decay (AdamW).
        momentum: SGD / RMSProp momentum (ignored by AdamW, whose betas are fixed).
        mixup_alpha: Beta(alpha, alpha) mixup (Zhang et al., 2018); 0 disables mixup.
        dropout: dropout before the classifier.
        stochastic_depth: drop-path rate of the last block, linearly increasing from 0
            over the residual blocks (Huang et al., 2016; as in EfficientNet).
        ema: evaluate an exponential moving average of the weights.
        ema_decay: EMA decay per optimizer step.
        label_smoothing: label-smoothing factor of the cross-entropy loss.
        epochs: training epochs.
        batch_size: mini-batch size.
        warmup_epochs: linear learning-rate warm-up epochs (may be fractional).
    """

    optimizer: str = "sgd"
    lr: float = 0.05
    weight_decay: float = 5e-5
    momentum: float = 0.9
    mixup_alpha: float = 0.0
    dropout: float = 0.2
    stochastic_depth: float = 0.0
    ema: bool = False
    ema_decay: float = 0.999
    label_smoothing: float = 0.1
    epochs: int = 10
    batch_size: int = 128
    warmup_epochs: float = 1.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", self.optimizer, f"unknown optimizer; expected one of {OPTIMIZERS}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError("lr", self.lr, "must be a positive number")
        if not (isinstance(self.weight_decay, int | float) and self.weight_decay >= 0):
            raise ConfigError("weight_decay", self.weight_decay, "must be >= 0")
        _unit("momentum", self.momentum)
        if not (isinstance(self.mixup_alpha, int | float) and self.mixup_alpha >= 0):
            raise ConfigError("mixup_alpha", self.mixup_alpha, "must be >= 0")
        _unit("dropout", self.dropout)
        _unit("stochastic_depth", self.stochastic_depth)
        if not isinstance(self.ema, bool):
            raise ConfigError("ema", self.ema, "must be true or false")
        _unit("ema_decay", self.ema_decay)
        _unit("label_smoothing", self.label_smoothing)
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(name, v, "must be a positive integer")
        if not (isinstance(self.warmup_epochs, int | float) and self.warmup_epochs >= 0):
            raise ConfigError("warmup_epochs", self.warmup_epochs, "must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serializable)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming the key."""
        known = set(cls.__dataclass_fields__)
        for key in data:
            if key not in known:
                raise ConfigError("recipe", key, f"unknown recipe field; expected one of {sorted(known)}")
        return cls(**data)
