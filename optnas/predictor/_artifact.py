"""A predictor (and the latency table it scored with) stored as Optuna artifacts of a study.

The predictor's weights are a large blob, so they go into an Optuna artifact store, not into
storage attributes (DESIGN.md, "Sampler state lives in storage"). The study user attribute
``optnas:predictor`` holds the artifact id and what is needed to rebuild the predictor, so it
shows in optuna-dashboard; ``optnas:latency_table`` does the same for the latency table a
``max_latency_ms`` search filtered with. :class:`~optnas.samplers.JointNASSampler` saves both at
the end of stage 1; ``optnas evolve`` (:func:`optnas.studies.evolve`) loads them to answer new
constraints without training (FBNetV3, Dai et al., 2021, Sec. 3.3).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optnas._errors import ConfigError, OptnasError
from optnas._keys import ARTIFACT_ATTR, LATENCY_ATTR, PREDICTOR_ATTR
from optnas.constraints import Constraint
from optnas.cost import LatencyTable

if TYPE_CHECKING:
    import optuna

    from optnas.predictor._predictor import Predictor

__all__ = [
    "LATENCY_ATTR",
    "PREDICTOR_ATTR",
    "load_latency_table",
    "load_predictor_artifact",
    "open_artifact_store",
    "save_latency_table",
    "save_predictor",
]


def save_predictor(
    study: optuna.Study, predictor: Predictor, artifact_store: Any, *, constraints: Sequence[Constraint] = ()
) -> str:
    """Upload ``predictor`` as an artifact of ``study``; record its id and metadata.

    The study user attribute ``optnas:predictor`` holds the artifact id and what is needed to
    rebuild the predictor (space fingerprint, encoder layout, seed, number of training trials).
    With a ``max_latency_ms`` constraint the latency table the search used
    (:func:`optnas.cost.default_latency_table`) is stored beside it (:func:`save_latency_table`).

    Returns:
        The predictor's artifact id.
    """
    from optuna.artifacts import upload_artifact

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "predictor.pt")
        Path(path).write_bytes(predictor.to_bytes())
        artifact_id = upload_artifact(
            artifact_store=artifact_store, file_path=path, study_or_trial=study, mimetype="application/octet-stream"
        )
    meta = predictor.metadata()
    study.set_user_attr(
        PREDICTOR_ATTR,
        {
            "artifact_id": artifact_id,
            "space_fingerprint": meta["space_fingerprint"],
            "num_classes": meta["num_classes"],
            "seed": meta["seed"],
            "n_train": meta["n_train"],
            "encoder": {k: meta["config"][k] for k in ("hidden", "embedding", "head_hidden")},
            "constraints": [c.to_dict() for c in constraints],
        },
    )
    if any(c.metric == "latency_ms" for c in constraints):
        # The table the search filtered with goes with the predictor, so evolve scores the same way.
        from optnas.cost import default_latency_table

        save_latency_table(study, default_latency_table(), artifact_store)
    return artifact_id


def open_artifact_store(study: optuna.Study, artifact_dir: str | os.PathLike[str] | None = None) -> Any:
    """The study's file-system artifact store: ``artifact_dir``, else the directory recorded in the
    study (``optnas run`` records it); ``None`` when neither is known.

    Raises:
        ConfigError: the directory does not exist.
    """
    from optuna.artifacts import FileSystemArtifactStore

    directory = artifact_dir if artifact_dir is not None else study.user_attrs.get(ARTIFACT_ATTR)
    if directory is None:
        return None
    if not Path(directory).is_dir():
        raise ConfigError("artifact directory", str(directory), "does not exist")
    return FileSystemArtifactStore(str(directory))


def load_predictor_artifact(
    study: optuna.Study, *, artifact_dir: str | os.PathLike[str] | None = None
) -> Predictor | None:
    """The predictor stored with ``study`` (:func:`save_predictor`); ``None`` when the study has none
    or its artifact directory is unknown.

    Raises:
        OptnasError: the recorded artifact cannot be read.
    """
    from optuna.artifacts import download_artifact

    from optnas.predictor._predictor import Predictor

    meta = study.user_attrs.get(PREDICTOR_ATTR)
    store = open_artifact_store(study, artifact_dir) if meta else None
    if not meta or store is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "predictor.pt")
        try:
            download_artifact(artifact_store=store, file_path=path, artifact_id=meta["artifact_id"])
        except Exception as exc:  # the store's own error types vary
            raise OptnasError(f"cannot read the study's predictor artifact {meta['artifact_id']}: {exc}") from None
        return Predictor.from_bytes(Path(path).read_bytes())


def save_latency_table(study: optuna.Study, table: LatencyTable, artifact_store: Any) -> str:
    """Upload ``table`` (JSON) as an artifact of ``study``; record its id and device.

    The study user attribute ``optnas:latency_table`` holds the artifact id, the device
    fingerprint and the number of entries, so a later ``optnas evolve`` scores latency with the
    very table the search used, on any machine.
    """
    from optuna.artifacts import upload_artifact

    with tempfile.TemporaryDirectory() as tmp:
        path = table.save(os.path.join(tmp, "latency_table.json"))
        artifact_id = upload_artifact(
            artifact_store=artifact_store, file_path=str(path), study_or_trial=study, mimetype="application/json"
        )
    study.set_user_attr(
        LATENCY_ATTR,
        {"artifact_id": artifact_id, "fingerprint": table.fingerprint, "device": table.device, "entries": len(table)},
    )
    return artifact_id


def load_latency_table(
    study: optuna.Study, *, artifact_dir: str | os.PathLike[str] | None = None
) -> LatencyTable | None:
    """The latency table stored with ``study`` (:func:`save_latency_table`), or ``None``.

    The stored table keeps its device description; when it is this machine's measured target
    (same fingerprint) missing entries are measured, otherwise it is a fixed user table.
    """
    from optuna.artifacts import download_artifact

    meta = study.user_attrs.get(LATENCY_ATTR)
    store = open_artifact_store(study, artifact_dir) if meta else None
    if not meta or store is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "latency_table.json")
        try:
            download_artifact(artifact_store=store, file_path=path, artifact_id=meta["artifact_id"])
        except Exception as exc:  # the store's own error types vary
            raise OptnasError(f"cannot read the study's latency table {meta['artifact_id']}: {exc}") from None
        stored = LatencyTable.load(path)
        target = json.loads(Path(path).read_text(encoding="utf-8")).get("target")
    if isinstance(target, dict):
        from optnas.cost import LatencyTarget, device_fingerprint

        t = LatencyTarget(**target)
        if device_fingerprint(t) == stored.device:
            stored.target = t
    return stored
