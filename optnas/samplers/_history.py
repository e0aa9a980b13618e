"""Stored trials -> the predictor's training data (one function for the sampler and ``evolve``).

FBNetV3 (Dai et al., 2021, Alg. 1) fits the predictor on every evaluated candidate. The target
is "higher is better": the objective value in a maximized study, its negation in a minimized
one, so a predictor fitted here ranks candidates the right way round in both. With an
early-stopping budget ``e`` the target is the accuracy after ``e`` epochs (the intermediate
value at step ``e``), so fully and early-stopped candidates are compared at one fidelity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optnas._errors import ConfigError
from optnas._keys import JOINTNAS_PICK
from optnas.space import SearchSpace

__all__ = ["candidate_rows", "training_data"]

FloatArray = npt.NDArray[np.float64]


def training_data(
    trials: Sequence[FrozenTrial],
    space: SearchSpace,
    direction: StudyDirection,
    *,
    budget: int | None = None,
    order: Callable[[FrozenTrial], Any] | None = None,
) -> tuple[FloatArray, FloatArray, list[FrozenTrial]]:
    """``(cols, y, used)``: the completed trials with a finite value and every parameter of ``space``.

    Args:
        trials: any trials (only COMPLETE ones with a finite value are used; trials marked
            ``trained=False`` in their user attributes, which were never trained, are skipped).
        space: the space whose column rows are returned.
        direction: the study direction; ``y`` is negated for ``MINIMIZE``.
        budget: early-stopping epoch budget (``None``: the final value).
        order: sort key of the rows (default: trial number).
    """
    sign = 1.0 if direction == StudyDirection.MAXIMIZE else -1.0
    names = set(space.names)
    rows: list[FloatArray] = []
    ys: list[float] = []
    used: list[FrozenTrial] = []
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    for tr in sorted(done, key=order or (lambda x: x.number)):
        if tr.value is None or not math.isfinite(tr.value) or not names <= tr.params.keys():
            continue
        if not tr.user_attrs.get("trained", True):
            continue
        try:
            rows.append(space.to_columns([tr.params])[0])
        except ConfigError:
            continue  # parameters outside the space's ranges
        value = float(tr.value)
        if budget is not None and budget in tr.intermediate_values:
            value = float(tr.intermediate_values[budget])
        ys.append(sign * value)
        used.append(tr)
    cols = np.array(rows) if rows else np.zeros((0, len(space.dims)))
    return cols, np.array(ys, dtype=float), used


def candidate_rows(trials: Sequence[FrozenTrial], space: SearchSpace) -> FloatArray:
    """Column rows of every trial of ``trials`` that holds a full candidate of ``space``, any state.

    The candidates a new batch must not propose again: evaluated, running, queued for a retry,
    or failed (a failed candidate is retried as it was, never re-planned). A trial's candidate is
    its parameters, else its fixed (enqueued) ones, else the JointNAS pick it has not suggested yet.
    """
    names = set(space.names)
    rows: list[FloatArray] = []
    for tr in trials:
        params = tr.params
        if not names <= params.keys():
            params = tr.system_attrs.get("fixed_params") or {}
        if not names <= params.keys():
            pick = tr.system_attrs.get(JOINTNAS_PICK)
            params = pick.get("values", {}) if isinstance(pick, dict) else {}
        if not names <= params.keys():
            continue
        try:
            rows.append(space.to_columns([params])[0])
        except ConfigError:
            continue
    return np.array(rows) if rows else np.zeros((0, len(space.dims)))
