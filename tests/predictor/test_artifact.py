"""A predictor stored as an Optuna artifact of a study, on a real SQLite file and artifact folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore

from optnas import ConfigError
from optnas.constraints import max_macs
from optnas.predictor import (
    Predictor,
    PredictorConfig,
    load_predictor_artifact,
    open_artifact_store,
    save_predictor,
)
from optnas.space import preset

SPACE = preset("digits")
FAST = PredictorConfig(hidden=16, embedding=8, head_hidden=8, pretrain=False, fit_steps=20)


def _study(tmp_path: Path) -> optuna.Study:
    return optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s", direction="maximize")


def _fitted() -> Predictor:
    cols = SPACE.sample(16, 3)
    y = np.linspace(0.2, 0.8, len(cols))
    return Predictor(SPACE, num_classes=10, seed=5, config=FAST).fit(cols, y)


def test_save_then_load_gives_the_same_predictions(tmp_path: Path) -> None:
    study = _study(tmp_path)
    predictor = _fitted()
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    artifact_id = save_predictor(study, predictor, FileSystemArtifactStore(str(store_dir)), constraints=[max_macs(2e6)])
    again = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 's.db'}")  # a fresh reader
    meta = again.user_attrs["optnas:predictor"]
    assert meta["artifact_id"] == artifact_id and (store_dir / artifact_id).is_file()
    assert (meta["num_classes"], meta["seed"], meta["n_train"]) == (10, 5, 16)
    assert meta["encoder"] == {"hidden": 16, "embedding": 8, "head_hidden": 8}
    assert meta["constraints"] == [max_macs(2e6).to_dict()]
    loaded = load_predictor_artifact(again, artifact_dir=store_dir)
    assert loaded is not None
    pool = SPACE.sample(32, 9)
    np.testing.assert_array_equal(loaded.predict(pool), predictor.predict(pool))


def test_the_recorded_artifact_directory_is_used(tmp_path: Path) -> None:
    study = _study(tmp_path)
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    save_predictor(study, _fitted(), FileSystemArtifactStore(str(store_dir)))
    assert load_predictor_artifact(study) is None  # no directory recorded, none given
    study.set_user_attr("optnas:artifacts", str(store_dir))  # what `optnas run` records
    assert load_predictor_artifact(study) is not None


def test_no_artifact_and_a_missing_directory(tmp_path: Path) -> None:
    study = _study(tmp_path)
    assert load_predictor_artifact(study, artifact_dir=tmp_path) is None  # the study stored none
    assert open_artifact_store(study) is None
    with pytest.raises(ConfigError, match=r"^artifact directory='.*nowhere': does not exist$"):
        open_artifact_store(study, tmp_path / "nowhere")
