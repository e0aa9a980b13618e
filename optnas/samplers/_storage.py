"""Sampler state in Optuna storage.

Optuna 5 removed the public ``Study.set_system_attr``/``Trial.set_system_attr``. Optuna's own
samplers (``GridSampler``, the GA samplers) write their state through the study's storage, and so
do we; this module is the only place in optnas that does, so a future public API needs one
change.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

import optuna
from optuna.trial import FrozenTrial

__all__ = ["record_heartbeat", "set_study_attr", "set_trial_attr", "study_attrs", "worker_id"]


def study_attrs(study: optuna.Study) -> dict[str, Any]:
    """The study's system attributes (fresh from storage)."""
    return study._storage.get_study_system_attrs(study._study_id)


def set_study_attr(study: optuna.Study, key: str, value: Any) -> None:
    """Set a study system attribute."""
    study._storage.set_study_system_attr(study._study_id, key, value)


def set_trial_attr(study: optuna.Study, trial: FrozenTrial, key: str, value: Any, *, user: bool = False) -> None:
    """Set a trial system (or user) attribute in storage and on the given trial object.

    ``trial`` is the trial's cached ``FrozenTrial`` that Optuna hands to samplers, so the running
    ``optuna.Trial`` sees the new value without reading storage again.
    """
    if user:
        study._storage.set_trial_user_attr(trial._trial_id, key, value)
        trial.user_attrs[key] = value
    else:
        study._storage.set_trial_system_attr(trial._trial_id, key, value)
        trial.system_attrs[key] = value


def worker_id() -> str:
    """Identifies the calling thread of this process on this host."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def record_heartbeat(study: optuna.Study, trial: FrozenTrial) -> None:
    """Write the trial's first heartbeat now, if the storage has heartbeats.

    Optuna's heartbeat thread starts only once the trial has been created, and its first write can
    wait behind other writers (SQLite). A worker killed before that write leaves a running trial
    without a heartbeat, which ``fail_stale_trials`` never fails, so it is never retried.
    """
    storage = study._storage
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if interval is not None:
        storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]
