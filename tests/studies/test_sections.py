"""Typed, frozen ``[dataset]`` / ``[train]`` sections: typed attributes, and the mapping of the given keys."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from optnas import ConfigError
from optnas.data import DATASETS as DATA_DATASETS
from optnas.studies import StudyConfig, parse_study
from optnas.studies._sections import DATASETS, DatasetSection, TrainSection


def test_sections_are_typed_frozen_and_read_as_mappings() -> None:
    config = parse_study({"study": {"kind": "jointnas"}, "dataset": {"subset": 50}, "train": {"epochs": 2}})
    assert isinstance(config.train, TrainSection) and isinstance(config.dataset, DatasetSection)
    assert config.train.epochs == 2 and config.train.prune is None
    assert dict(config.train) == {"epochs": 2} and "prune" not in config.train
    assert config.train.get("prune", True) is True
    assert dict(config.dataset) == {"name": "digits", "subset": 50}
    assert config.summary()["train"] == {"epochs": 2}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train.epochs = 3  # type: ignore[misc]


def test_replacing_with_a_dict_parses_it() -> None:
    config = parse_study({"study": {"kind": "jointnas"}})
    changed = dataclasses.replace(config, train={**config.train, "epochs": 1})
    assert isinstance(changed.train, TrainSection) and changed.train.epochs == 1
    with pytest.raises(ConfigError, match=r"^train\.num_threads=0: must be a positive integer"):
        dataclasses.replace(config, train={"num_threads": 0})
    with pytest.raises(ConfigError, match=r"^dataset\.nme='x': unknown key"):
        dataclasses.replace(config, dataset={"nme": "x"})


def test_dataset_names_agree_with_the_loader() -> None:
    assert DATASETS == DATA_DATASETS


def _section_classes() -> list[type]:
    from optnas.studies._kinds import REGISTRY

    classes = [DatasetSection, TrainSection]
    for kind in REGISTRY.values():
        classes += [c for c in (kind.sampler_section, kind.augment_section) if c is not None and c not in classes]
    return classes


@pytest.mark.parametrize("cls", [StudyConfig, *_section_classes()], ids=lambda c: c.__name__)
def test_the_config_and_every_section_are_frozen_and_typed(cls: type) -> None:
    """Issue 15: ``StudyConfig`` and the sections below it: frozen dataclasses, no field typed ``Any``."""
    from optnas.evolution import GAConfig
    from optnas.predictor import PredictorConfig

    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    hints = typing.get_type_hints(cls, localns={"PredictorConfig": PredictorConfig, "GAConfig": GAConfig})
    untyped = [f.name for f in dataclasses.fields(cls) if hints[f.name] is typing.Any]
    assert not untyped


def test_a_parsed_config_cannot_be_changed_in_place() -> None:
    config = parse_study({"study": {"kind": "jointnas"}, "sampler": {"predictor": {"hidden": 8}}})
    for name, value in (("kind", "autotrain"), ("seed", 1), ("constraints", ())):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(config, name, value)
    assert isinstance(config.constraints, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sampler.predictor.hidden = 4  # type: ignore[misc,union-attr]
