"""Typed, frozen ``[dataset]`` / ``[train]`` sections: typed attributes, and the mapping of the given keys."""

from __future__ import annotations

import dataclasses

import pytest

from optnas import ConfigError
from optnas.data import DATASETS as DATA_DATASETS
from optnas.studies import parse_study
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
