"""The AutoAugment search space as Optuna parameters (AutoAugment, Sec. 3).

A policy is 5 sub-policies x 2 operations x (type, probability, magnitude): 30 categorical
decisions, the controller's 30 softmax outputs. :func:`suggest_policy` suggests them on an
Optuna trial in this fixed order, for ``i`` in sub-policies and ``j`` in (0, 1)::

    sp{i}_op{j}_type  choices OP_NAMES (16 names, the paper's order)
    sp{i}_op{j}_prob  choices (0, 1, ..., 10): probability = bin / 10
    sp{i}_op{j}_mag   choices (0, 1, ..., 9):  magnitude bin

:func:`policy_from_params` inverts it (e.g. for ``trial.params`` of a finished trial).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from optnas._errors import ConfigError
from optnas.augment._policy import Policy, PolicyOp, SubPolicy
from optnas.augment._table import MAGNITUDE_BINS, OP_NAMES, PROBABILITY_BINS

if TYPE_CHECKING:
    import optuna

__all__ = ["OPS_PER_SUBPOLICY", "param_names", "policy_from_params", "suggest_policy"]

OPS_PER_SUBPOLICY = 2
_PROB_CHOICES = tuple(range(PROBABILITY_BINS))
_MAG_CHOICES = tuple(range(MAGNITUDE_BINS))


def param_names(n_subpolicies: int = 5) -> list[tuple[str, str, str]]:
    """``(type, prob, mag)`` parameter names per operation, in suggestion order."""
    return [
        (f"sp{i}_op{j}_type", f"sp{i}_op{j}_prob", f"sp{i}_op{j}_mag")
        for i in range(n_subpolicies)
        for j in range(OPS_PER_SUBPOLICY)
    ]


def _check_n(n_subpolicies: int) -> None:
    if isinstance(n_subpolicies, bool) or not isinstance(n_subpolicies, int) or n_subpolicies < 1:
        raise ConfigError("n_subpolicies", n_subpolicies, "must be a positive integer")


def suggest_policy(trial: optuna.trial.BaseTrial, n_subpolicies: int = 5) -> Policy:
    """Suggest an AutoAugment policy on ``trial`` (parameters in the module docstring).

    Args:
        trial: The Optuna trial.
        n_subpolicies: Number of sub-policies (the paper: 5).

    Returns:
        The suggested :class:`Policy`.
    """
    _check_n(n_subpolicies)
    params: dict[str, Any] = {}
    for type_name, prob_name, mag_name in param_names(n_subpolicies):
        params[type_name] = trial.suggest_categorical(type_name, OP_NAMES)
        params[prob_name] = trial.suggest_categorical(prob_name, _PROB_CHOICES)
        params[mag_name] = trial.suggest_categorical(mag_name, _MAG_CHOICES)
    return policy_from_params(params, n_subpolicies=n_subpolicies)


def policy_from_params(params: Mapping[str, Any], *, n_subpolicies: int | None = None) -> Policy:
    """The :class:`Policy` encoded by ``sp{i}_op{j}_{type,prob,mag}`` parameters.

    Args:
        params: e.g. ``trial.params``; other keys are ignored.
        n_subpolicies: Number of sub-policies; by default, as many as ``sp{i}_op0_type``
            keys are present consecutively from ``i = 0``.

    Raises:
        ConfigError: naming the missing or invalid parameter.
    """
    if n_subpolicies is None:
        n_subpolicies = 0
        while f"sp{n_subpolicies}_op0_type" in params:
            n_subpolicies += 1
        if n_subpolicies == 0:
            raise ConfigError("sp0_op0_type", None, "missing: no policy parameters found")
    _check_n(n_subpolicies)
    ops: list[PolicyOp] = []
    for type_name, prob_name, mag_name in param_names(n_subpolicies):
        for key in (type_name, prob_name, mag_name):
            if key not in params:
                raise ConfigError(key, None, "missing policy parameter")
        name, prob_bin, mag_bin = params[type_name], params[prob_name], params[mag_name]
        if name not in OP_NAMES:
            raise ConfigError(type_name, name, f"unknown op; expected one of {', '.join(OP_NAMES)}")
        if prob_bin not in _PROB_CHOICES or isinstance(prob_bin, bool):
            raise ConfigError(prob_name, prob_bin, "must be an integer in [0, 10]")
        if mag_bin not in _MAG_CHOICES or isinstance(mag_bin, bool):
            raise ConfigError(mag_name, mag_bin, "must be an integer in [0, 9]")
        ops.append(PolicyOp(name, int(prob_bin) / 10.0, int(mag_bin)))
    return Policy(
        tuple(
            SubPolicy(tuple(ops[k : k + OPS_PER_SUBPOLICY]))
            for k in range(0, len(ops), OPS_PER_SUBPOLICY)
        )
    )
