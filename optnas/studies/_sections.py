"""Typed, frozen sections of a study file: the base class, ``[dataset]`` and ``[train]``.

Each section is parsed once, at the edge (:func:`optnas.studies.parse_study`), into a frozen
dataclass with typed attributes (``config.train.epochs``). A section is also a read-only
``Mapping`` of the keys the file gave (``config.train.get("epochs")``, ``dict(config.dataset)``),
which is what the code that predates the typed sections reads; :meth:`_Section.to_dict` is its
JSON form (the stored study summary), and parsing that again gives an equal section.
Building a :class:`~optnas.studies.StudyConfig` (or ``dataclasses.replace``-ing one) with a plain
dict parses it the same way, so a section is never unvalidated.

The kind-specific sections live beside their kind: ``[sampler]`` in
:mod:`optnas.studies._sampler_sections`, ``[augment]`` in :mod:`optnas.studies._augment_settings`;
each kind names its own in the registry (:mod:`optnas.studies._kinds`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from optnas import _validate as v
from optnas._errors import ConfigError

__all__ = ["DATASETS", "DatasetSection", "EmptySection", "TrainSection", "plain"]

#: Dataset names a study file may give (``optnas.data.DATASETS``, not imported: it loads numpy and albumentations).
DATASETS: tuple[str, ...] = ("digits", "imagefolder", "cifar10", "cifar100", "svhn")

S = TypeVar("S", bound="_Section")


@dataclass(frozen=True, eq=False)
class _Section(Mapping[str, Any]):
    """A frozen dataclass that reads as the mapping of its given (non-``None``) fields."""

    where: ClassVar[str] = ""

    def __getitem__(self, key: str) -> Any:
        if key not in self._names() or getattr(self, key) is None:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._names() if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def unknown_key(cls, key: str, value: Any) -> ConfigError:
        """The error for a key the section does not have (a section may say more, e.g. where it belongs)."""
        return ConfigError(f"{cls.where}.{key}", value, f"unknown key; expected one of {sorted(cls._names())}")

    @classmethod
    def parse(cls: type[S], table: Mapping[str, Any]) -> S:
        """The section of a TOML table: unknown keys and wrong types name ``<section>.<key>``."""
        if isinstance(table, cls):
            return table
        table = v.table(cls.where, table)
        names = cls._names()
        for key in table:
            if key not in names:
                raise cls.unknown_key(key, table[key])
        return cls(**{k: val for k, val in table.items() if val is not None})

    def to_dict(self) -> dict[str, Any]:
        """The given keys as plain JSON values (tuples as lists, nested configs as tables)."""
        return {key: plain(value) for key, value in self.items()}


def plain(value: Any) -> Any:
    """``value`` as TOML/JSON data: dataclasses as tables, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(val) for k, val in value.items()}
    if isinstance(value, list | tuple):
        return [plain(val) for val in value]
    return value


@dataclass(frozen=True, eq=False)
class EmptySection(_Section):
    """A section a study kind does not have: every key is an error (the kind's check names the kind)."""

    where: ClassVar[str] = "section"

    @classmethod
    def unknown_key(cls, key: str, value: Any) -> ConfigError:
        return ConfigError(f"{cls.where}.{key}", value, "this study kind has no such table; remove it")


def _opt(where: str, value: Any, check: Any) -> None:
    if value is not None:
        check(where, value)


@dataclass(frozen=True, eq=False)
class TrainSection(_Section):
    """``[train]``: how every trial trains (``None``: not given, the default applies).

    Attributes:
        epochs: epoch budget of every trial (JointNAS: capped by an early-stopping budget).
        num_threads: torch intra-op threads per worker.
        device: torch device (default ``"cpu"``; ``optnas run --device`` overrides it).
        num_workers: DataLoader worker processes augmenting each trial's batches (default 0).
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"`` (mixed precision).
        channels_last: channels-last memory format for the model and batches (default off).
        augment: JointNAS/AutoTrain extra augmentation (``optnas augment show``'s POLICY).
        prune: augmentation kinds: ``False`` disables the median pruner.
        keep_weights: trained state dicts kept as artifacts (:mod:`optnas.studies._weights`).
    """

    where: ClassVar[str] = "train"

    epochs: int | None = None
    num_threads: int | None = None
    device: str | None = None
    augment: str | None = None
    prune: bool | None = None
    keep_weights: int | None = None
    num_workers: int | None = None
    precision: str | None = None
    channels_last: bool | None = None

    def __post_init__(self) -> None:
        _opt("train.epochs", self.epochs, v.positive_int)
        _opt("train.num_threads", self.num_threads, v.positive_int)
        _opt("train.device", self.device, v.string)
        _opt("train.augment", self.augment, v.string)
        _opt("train.prune", self.prune, v.boolean)
        _opt("train.keep_weights", self.keep_weights, v.non_negative_int)
        _opt("train.num_workers", self.num_workers, v.non_negative_int)
        if self.precision is not None:
            v.one_of("train.precision", self.precision, ("fp32", "bf16", "fp16"))
        _opt("train.channels_last", self.channels_last, v.boolean)


@dataclass(frozen=True, eq=False)
class DatasetSection(_Section):
    """``[dataset]``: the data every trial trains on (``None``: not given, the default applies).

    Attributes:
        name: one of :data:`DATASETS`.
        root: directory (required for ``imagefolder``; resolved by the schema).
        subset: class-balanced training subset size.
        val_size: validation images held out of the training split.
        val_fraction: the same as a fraction.
        download: let torchvision download CIFAR/SVHN.
        balanced: balance ``subset`` across classes.
    """

    where: ClassVar[str] = "dataset"

    name: str = "digits"
    root: str | None = None
    subset: int | None = None
    val_size: int | None = None
    val_fraction: float | None = None
    download: bool | None = None
    balanced: bool | None = None

    def __post_init__(self) -> None:
        v.string("dataset.name", self.name)
        if self.name not in DATASETS:
            raise ConfigError("dataset.name", self.name, f"unknown dataset; expected one of {DATASETS}")
        _opt("dataset.root", self.root, v.string)
        _opt("dataset.subset", self.subset, v.positive_int)
        _opt("dataset.val_size", self.val_size, v.positive_int)
        if self.val_fraction is not None:
            v.number("dataset.val_fraction", self.val_fraction, low=0.0, high=1.0, low_open=True)
        _opt("dataset.download", self.download, v.boolean)
        _opt("dataset.balanced", self.balanced, v.boolean)
