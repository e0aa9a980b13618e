"""Issue 15: the trained weights of the top-k full-fidelity trials, kept as artifacts and exported.

The round trip runs a real (tiny) JointNAS digits study with ``run_study``: two candidates of
the space-filling batch, one epoch each. The exported ``model.py`` with ``pretrained=True``
must reproduce the trial's validation accuracy exactly.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch

from optnas.cli import main
from optnas.studies import load_data, parse_study, run_study
from optnas.studies._weights import WEIGHTS_ATTR, keep_weights, weights_artifact

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study_with_store(tmp_path: Path) -> optuna.Study:
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    study = optuna.create_study(direction="maximize", storage=f"sqlite:///{tmp_path / 'w.db'}")
    study.set_user_attr("optnas:artifacts", str(store_dir))
    return study


def test_only_the_top_k_are_kept(tmp_path: Path) -> None:
    study = _study_with_store(tmp_path)
    values = [0.5, 0.7, 0.6, 0.9, 0.4, 0.7]
    stored: list[bool] = []

    def objective(trial: optuna.Trial) -> float:
        value = values[trial.number]
        model = torch.nn.Linear(3, 2)
        torch.nn.init.constant_(model.weight, float(trial.number))
        stored.append(keep_weights(trial, model, value, keep=2))
        return value

    study.optimize(objective, n_trials=len(values))
    # 0.5 and 0.7 fill k=2; 0.6 pushes 0.5 out; 0.9 pushes 0.6 out; 0.4 ranks too low; the second
    # 0.7 ties with trial 1 and loses the tie (later trial).
    assert stored == [True, True, True, True, False, False]
    kept = {t.number for t in study.trials if weights_artifact(study, t) is not None}
    assert kept == {1, 3}
    assert len(list((tmp_path / "artifacts").iterdir())) == 2  # the disk holds k state dicts
    trial = study.trials[3]
    with io.BytesIO() as buf:
        from optuna.artifacts import FileSystemArtifactStore

        store = FileSystemArtifactStore(str(tmp_path / "artifacts"))
        with store.open_reader(trial.user_attrs[WEIGHTS_ATTR]) as reader:
            buf.write(reader.read())
        buf.seek(0)
        state = torch.load(buf, weights_only=True)
    assert torch.equal(state["weight"], torch.full((2, 3), 3.0))


def test_keep_zero_and_no_store(tmp_path: Path) -> None:
    study = _study_with_store(tmp_path)
    bare = optuna.create_study(direction="maximize")
    results = []

    def objective(trial: optuna.Trial) -> float:
        results.append(keep_weights(trial, torch.nn.Linear(1, 1), 0.5, keep=0))
        return 0.5

    def bare_objective(trial: optuna.Trial) -> float:
        results.append(keep_weights(trial, torch.nn.Linear(1, 1), 0.5, keep=3))
        return 0.5

    study.optimize(objective, n_trials=1)
    bare.optimize(bare_objective, n_trials=1)
    assert results == [False, False]
    assert not list((tmp_path / "artifacts").iterdir())


def _load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("exported_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _val_accuracy(model: torch.nn.Module, data: Any, resolution: int) -> float:
    from optnas.data._loader import Loader
    from optnas.train._trainer import _accuracy

    loader = Loader(data, resolution, batch_size=64, standard=False, seed=0, device="cpu", epochs=1)
    try:
        return _accuracy(model, loader.eval_batches("val", 256), "fp32")
    finally:
        loader.close()


STUDY = {
    "study": {"kind": "jointnas", "name": "w", "seed": 0},
    "dataset": {"name": "digits", "subset": 200},
    "space": {"preset": "digits"},
    "constraints": {"max_macs": 1.0e6},
    "sampler": {"batch_size": 2, "n_batches": 1, "final_batch_size": 0, "pool_size": 16},
    "train": {"epochs": 1, "keep_weights": 1},
}


@pytest.mark.slow
def test_exported_weights_reproduce_the_trial_accuracy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = parse_study(STUDY)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = run_study(config, storage_url=url, stream=io.StringIO())
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs.get("trained")]
    assert len(done) == 2
    kept = [t for t in done if weights_artifact(study, t) is not None]
    assert len(kept) == 1  # keep_weights = 1
    out = tmp_path / "best"
    assert main(["export", "--storage", url, "--study-name", "w", "--out", str(out)]) == 0
    assert (out / "weights.pt").is_file()
    best = json.loads((out / "best.json").read_text())
    assert best["weights"] == "weights.pt" and best["trial"] == kept[0].number
    module = _load_module(out / "model.py")
    model = module.make_model(pretrained=True)
    assert not model.training
    data = load_data(config)
    assert _val_accuracy(model, data, module.RESOLUTION) == kept[0].value
    fresh = module.make_model(seed=1)  # still the untrained definition by default
    pairs = zip(fresh.state_dict().values(), model.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)


@pytest.mark.slow
def test_augmentation_child_weights_are_exported(tmp_path: Path) -> None:
    config = parse_study(
        {
            "study": {"kind": "randaugment", "name": "ra", "seed": 0},
            "dataset": {"name": "digits", "subset": 100},
            "augment": {"n": [1], "m": [5]},
            "train": {"epochs": 1},
        }
    )
    url = f"sqlite:///{tmp_path / 'ra.db'}"
    study = run_study(config, storage_url=url, stream=io.StringIO())
    (trial,) = study.trials
    out = tmp_path / "best"
    assert main(["export", "--storage", url, "--study-name", "ra", "--out", str(out)]) == 0
    assert {p.name for p in (out / "child").iterdir()} == {
        "arch.txt",
        "recipe.json",
        "best.json",
        "model.py",
        "weights.pt",
    }
    module = _load_module(out / "child" / "model.py")
    model = module.make_model(pretrained=True)
    assert _val_accuracy(model, load_data(config), module.RESOLUTION) == trial.value


@pytest.mark.parametrize(
    ("epochs", "accuracy", "diverged", "stored"),
    [(3, 0.8, False, True), (2, 0.8, False, False), (3, float("nan"), False, False), (3, 0.8, True, False)],
)
def test_only_full_fidelity_trials_offer_their_weights(
    epochs: int, accuracy: float, diverged: bool, stored: bool, tmp_path: Path
) -> None:
    """An early-stopped (shorter budget), non-finite or diverged run never takes a top-k place."""
    from types import SimpleNamespace

    from optnas.studies._weights import offer_weights

    study = _study_with_store(tmp_path)
    result = SimpleNamespace(accuracy=accuracy, epochs=epochs, diverged=diverged, model=torch.nn.Linear(1, 1))
    offered: list[bool] = []
    study.optimize(lambda t: offered.append(offer_weights(t, result, full_epochs=3)) or 0.5, n_trials=1)
    assert offered == [stored]
    assert len(list((tmp_path / "artifacts").iterdir())) == int(stored)
