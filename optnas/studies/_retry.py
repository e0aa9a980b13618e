"""Nothing lost: a trial interrupted or failed is queued again with its candidate (DESIGN.md).

Optuna's own convention is followed: a retry is a *waiting* trial with the same parameters,
distributions, user attributes and system attributes as the trial it replaces, plus
``failed_trial`` (the first trial of the chain) and ``retry_history`` (every earlier trial of the
chain), exactly what :class:`optuna.storages.RetryHeartbeatStaleTrialCallback` writes for a
worker that died, less the worker that ran it (the retry records its own when it starts).
Samplers that keep their state in system attributes therefore see the retry as the same
candidate: ``GridSampler`` keeps its ``grid_id``, ``JointNASSampler`` its plan
position and pick. Waiting trials are popped before new ones are created, so the retry runs first.

Three causes queue a retry:

* a stale trial (the worker died: SIGKILL, power loss), through :class:`RetryStaleTrial`, the
  heartbeat callback of :func:`optnas.studies.open_storage`;
* an exception in the objective (a diverged training, out-of-memory, a device error) or a
  non-finite value;
* Ctrl-C (``KeyboardInterrupt``): the interrupted candidate runs first when the command is
  rerun.

The first two count against ``max_retry``: a candidate that failed ``max_retry + 1`` times is
failed for good. An interruption is no failure of the candidate and never counts.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from optnas._keys import ERROR_ATTR, FAILURES_ATTR, INTERRUPTS_ATTR, JOINTNAS_WORKER, WORKER_ATTR

__all__ = [
    "ERROR_ATTR",
    "FAILURES_ATTR",
    "INTERRUPTS_ATTR",
    "RetryStaleTrial",
    "failure_count",
    "is_retried",
    "requeue",
    "short_error",
]

_ERROR_CHARS = 300


def short_error(exc: BaseException | None, value: Any = None) -> str:
    """One line saying why a trial failed: ``Type: message`` of ``exc``, else the bad value."""
    if exc is not None:
        text = str(exc).strip().splitlines()
        line = f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__
    elif isinstance(value, float) and not math.isfinite(value):
        line = f"the objective returned {value}"
    elif value is None:
        line = "the objective returned no value"
    else:
        line = f"the objective returned {value!r}"
    return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 3] + "..."


def failure_count(trial: FrozenTrial) -> int:
    """Failures of ``trial``'s candidate before ``trial`` (0 for a first attempt)."""
    return int(trial.system_attrs.get(FAILURES_ATTR, len(trial.system_attrs.get("retry_history", []))))


def is_retried(trials: list[FrozenTrial], number: int) -> bool:
    """Whether a later trial of ``trials`` retries trial ``number``."""
    return any(number in t.system_attrs.get("retry_history", ()) for t in trials)


def requeue(
    study: optuna.Study, trial: FrozenTrial, *, interrupted: bool = False, max_retry: int | None = 3
) -> int | None:
    """Queue ``trial``'s candidate again as a waiting trial (see the module docstring).

    Args:
        study: the study of ``trial``.
        trial: a finished (failed) trial.
        interrupted: the trial was stopped by Ctrl-C: the retry is not counted against
            ``max_retry``.
        max_retry: failures after which the candidate is failed for good (``None``: retry
            forever).

    Returns:
        The number of the new waiting trial; ``None`` when the candidate's retries are spent
        (or the trial has been retried already).
    """
    trials = study.get_trials(deepcopy=False)
    if is_retried(trials, trial.number):
        return None
    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    failures = failure_count(trial) + (0 if interrupted else 1)
    interrupts = int(trial.system_attrs.get(INTERRUPTS_ATTR, 0)) + (1 if interrupted else 0)
    if not interrupted and max_retry is not None and failures > max_retry:
        return None
    # Not the dead worker's identity: until the worker that pops the retry records its own, another
    # local worker would take the inherited pid for a dead worker's running trial and fail it (a
    # phantom failure, issue 14).
    inherited = {k: v for k, v in trial.system_attrs.items() if k not in (WORKER_ATTR, JOINTNAS_WORKER)}
    system_attrs = {
        **inherited,
        "failed_trial": history[0],
        "retry_history": history,
        FAILURES_ATTR: failures,
        INTERRUPTS_ATTR: interrupts,
    }
    user_attrs = {k: v for k, v in trial.user_attrs.items() if k != ERROR_ATTR}
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=user_attrs,
            system_attrs=system_attrs,
        )
    )
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return max(t.number for t in waiting if t.system_attrs.get("retry_history") == history)


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    """Heartbeat callback: a dead worker's trial is queued again (:func:`requeue`).

    The same retry chain and budget as an exception's, so a candidate that kills its worker
    (out-of-memory killer) and one that raises are bounded alike.

    Args:
        max_retry: failures after which the candidate is failed for good.
    """

    def __init__(self, max_retry: int | None = 3) -> None:
        super().__init__(max_retry=max_retry)
        self.max_retry = max_retry

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        requeue(study, trial, max_retry=self.max_retry)
