"""Trained weights of the best trials, kept as Optuna artifacts (``optnas export`` writes ``weights.pt``).

A search that only returned the definition of the network it found would make the user train it
again. So every *full-fidelity* trial (trained for the study's whole epoch budget: not a shorter
early-stopping budget, not pruned, not diverged) offers its trained ``state_dict`` at the end of
its objective, and the study keeps those of the ``k`` best such trials (``[train] keep_weights``,
default :data:`DEFAULT_KEEP`; 0 keeps none):

* the weights are uploaded to the study's artifact store (the directory recorded in the study
  attribute ``optnas:artifacts``: ``study.artifacts``, else ``<db>_artifacts/`` next to the SQLite
  file, where the stage-2 predictor goes) only when the trial ranks among the ``k`` best, and the
  trial records the artifact id in its user attribute :data:`WEIGHTS_ATTR`;
* the artifacts of completed trials that fall out of the ``k`` best are removed from the store, so
  the disk holds at most ``k`` state dicts (plus, transiently, one per other worker that is just
  finishing a trial).

Ranking: value (higher is better; every optnas study maximizes validation accuracy), ties by
trial number (the earlier trial first), as :func:`optnas.studies.best_feasible` ranks.

A study without a recorded artifact directory (created from Python) keeps no weights.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from optnas import _validate as v
from optnas._errors import ConfigError
from optnas._keys import ARTIFACT_ATTR, WEIGHTS_ATTR

__all__ = [
    "DEFAULT_KEEP",
    "WEIGHTS_ATTR",
    "download_weights",
    "keep_count",
    "keep_weights",
    "offer_weights",
    "weights_artifact",
]

#: Default number of best full-fidelity trials whose weights are kept.
DEFAULT_KEEP = 3
_ARTIFACT_DIR_ATTR = ARTIFACT_ATTR


def keep_count(train: Any) -> int:
    """``[train] keep_weights`` (default :data:`DEFAULT_KEEP`), validated."""
    if not train or "keep_weights" not in train:
        return DEFAULT_KEEP
    return v.non_negative_int("train.keep_weights", train["keep_weights"])


def _store(study: optuna.Study) -> Any:
    from optuna.artifacts import FileSystemArtifactStore

    directory = study.user_attrs.get(_ARTIFACT_DIR_ATTR)
    if not isinstance(directory, str) or not Path(directory).is_dir():
        return None
    return FileSystemArtifactStore(directory)


def _rank_key(value: float, number: int) -> tuple[float, int]:
    return (-value, number)


def _trial_key(trial: FrozenTrial) -> tuple[float, int]:
    return _rank_key(float(trial.value if trial.value is not None else -math.inf), trial.number)


def keep_weights(trial: optuna.Trial, model: Any, value: float, *, keep: int = DEFAULT_KEEP) -> bool:
    """Offer a finished full-fidelity trial's trained ``model``; returns whether its weights were stored.

    Call it at the end of the objective, with the value the objective returns. The weights are
    stored when the trial ranks among the ``keep`` best trials with stored weights; the artifacts
    of completed trials pushed out of the ``keep`` best are removed.

    Args:
        trial: the running trial.
        model: its trained ``torch.nn.Module`` (``TrainResult.model``).
        value: the objective value the trial is about to return.
        keep: how many trials' weights the study keeps (0: none).
    """
    if keep < 1 or model is None:
        return False
    study = trial.study
    store = _store(study)
    if store is None:
        return False
    kept = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if isinstance(t.user_attrs.get(WEIGHTS_ATTR), str) and t.value is not None
    ]
    kept.sort(key=_trial_key)
    mine = _rank_key(float(value), trial.number)
    rank = sum(1 for t in kept if _trial_key(t) < mine)
    if rank >= keep:
        return False
    import torch
    from optuna.artifacts import upload_artifact

    state = {k: t.detach().to("cpu").contiguous() for k, t in model.state_dict().items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"weights_trial{trial.number}.pt")
        torch.save(state, path)
        artifact_id = upload_artifact(
            artifact_store=store, file_path=path, study_or_trial=trial, mimetype="application/octet-stream"
        )
    trial.set_user_attr(WEIGHTS_ATTR, artifact_id)
    for t in kept[keep - 1 :]:  # with this trial in, these rank below the keep best
        _remove(store, str(t.user_attrs[WEIGHTS_ATTR]))
    return True


def offer_weights(trial: optuna.Trial, result: Any, *, full_epochs: int, train: Any = None) -> bool:
    """:func:`keep_weights` for a ``TrainResult`` of full fidelity (``full_epochs`` trained, finite, not diverged).

    Args:
        trial: the running trial.
        result: its ``TrainResult`` (trained with ``keep_model=True``).
        full_epochs: the study's whole epoch budget for this trial (``[train] epochs``, else the recipe's).
        train: the ``[train]`` table (``keep_weights``).
    """
    accuracy = float(result.accuracy)
    if result.diverged or result.epochs != full_epochs or not math.isfinite(accuracy):
        return False
    return keep_weights(trial, result.model, accuracy, keep=keep_count(train))


def _remove(store: Any, artifact_id: str) -> None:
    from optuna.artifacts.exceptions import ArtifactNotFound

    with contextlib.suppress(ArtifactNotFound):  # removed earlier (another worker, or an earlier trial)
        store.remove(artifact_id)


def weights_artifact(study: optuna.Study, trial: FrozenTrial) -> str | None:
    """The artifact id of ``trial``'s stored weights, or ``None`` (none kept, or since removed)."""
    artifact_id = trial.user_attrs.get(WEIGHTS_ATTR)
    store = _store(study)
    if not isinstance(artifact_id, str) or store is None:
        return None
    from optuna.artifacts.exceptions import ArtifactNotFound

    try:
        store.open_reader(artifact_id).close()
    except ArtifactNotFound:
        return None
    return artifact_id


def download_weights(study: optuna.Study, trial: FrozenTrial, path: str | os.PathLike[str]) -> bool:
    """Write ``trial``'s stored ``state_dict`` to ``path``; ``False`` when it has none.

    Raises:
        ConfigError: the stored file is not a state dict ``torch.load(weights_only=True)`` reads.
    """
    artifact_id = weights_artifact(study, trial)
    if artifact_id is None:
        return False
    import torch

    with _store(study).open_reader(artifact_id) as reader:
        blob = reader.read()
    try:
        torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a corrupt file
        field = f"trial {trial.number}: {WEIGHTS_ATTR}"
        raise ConfigError(field, artifact_id, f"not a readable state dict: {exc}") from None
    Path(path).write_bytes(blob)
    return True
