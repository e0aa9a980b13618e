"""Training and evaluation of one candidate: :func:`train_and_evaluate` -> :class:`TrainResult`."""

from optnas.train._optim import RMSPROP_ALPHA, RMSPROP_EPS, lr_factor, make_optimizer, make_scheduler, param_groups
from optnas.train._result import TrainResult
from optnas.train._trainer import PRECISIONS, evaluate, train_and_evaluate

__all__ = [
    "PRECISIONS",
    "RMSPROP_ALPHA",
    "RMSPROP_EPS",
    "TrainResult",
    "evaluate",
    "lr_factor",
    "make_optimizer",
    "make_scheduler",
    "param_groups",
    "train_and_evaluate",
]
