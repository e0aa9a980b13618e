"""Study files: a TOML schema, validated completely before anything touches storage.

A study file declares one study::

    [study]
    kind = "jointnas"          # jointnas | autotrain | autoaugment | randaugment
    name = "jointnas-digits"   # --study-name overrides
    storage = "sqlite:///optnas.db"   # optional; --storage overrides; default: optnas.db here
    seed = 0
    n_trials = 40              # optional; default: the sampler's full plan
    artifacts = "optnas_artifacts"   # optional artifact directory (default: next to the storage)

    [dataset]
    name = "digits"            # digits | imagefolder | cifar10 | cifar100 | svhn
    root = "../shared/data/cifar10"   # for imagefolder / torchvision datasets
    subset = 4000              # optional training subset (per-class balanced)
    val_size = 1000            # optional validation size (else a fraction)
    download = false

    [space]
    preset = "digits"          # fbnetv3 | cifar | digits
    arch = "mobilenet_v2"      # autotrain (and augmentation child): fixed architecture: a reference
                               # name, a block string, or "torchvision:resnet18 res32 small"
    [space.overrides]          # search ranges by parameter name (jointnas / autotrain only: an
                               #   augmentation study trains one fixed child, so it is an error there)
    g1_c = [16, 32, 8]         # [min, max] or [min, max, step] for integers
    lr = {low = 0.001, high = 0.1, log = true}
    optimizer = ["sgd", "adamw"]     # a list of strings/bools: categorical choices
    [space.fixed]              # fix dimensions to a value
    resolution = 16

    [constraints]              # jointnas / autotrain only: an autoaugment or randaugment study
    max_macs = 2e6             #   trains one fixed child, and [constraints] there is an error
    max_params = 5e4           # max_<metric>, metric in macs | params | latency_ms
    max_latency_ms = 1.0       # predicted by this machine's per-block lookup table (optnas.cost)

    [sampler]                  # the kind's typed sampler section (optnas.studies._sampler_sections):
    batch_size = 8             #   JointNASSampler (jointnas, autotrain), PPOSampler (autoaugment),
    n_batches = 4              #   none (randaugment: the grid is [augment] n, m)

    [train]
    epochs = 6                 # override the recipe's epoch budget
    num_threads = 2
    device = "cpu"             # "cuda", "cuda:1", ... (optnas run --device overrides it)
    num_workers = 4            # DataLoader processes augmenting the batches (default 0)
    precision = "fp32"         # fp32 (default) | bf16 | fp16 (mixed precision on a GPU)
    channels_last = false      # channels-last memory format (faster convolutions on GPUs)
    keep_weights = 3           # store the trained weights of the 3 best full-budget trials (0: none)

    [augment]                  # autoaugment / randaugment only (optnas.studies._augment_settings)
    prune = false

Unknown sections or keys are errors that name them; so are values of the wrong type. Every section
is parsed once, here, into a typed frozen object; which ``[sampler]`` and ``[augment]`` sections a
kind has, and the checks that span sections, come from the kind's registry entry
(:mod:`optnas.studies._kinds`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from optnas import _validate as v
from optnas._errors import ConfigError
from optnas.constraints import Constraint, from_dict
from optnas.space import Choice, FloatRange, IntRange, JointSpace, TorchvisionArch, parse_arch, preset
from optnas.studies._kinds import KINDS, StudyKind, study_kind_of
from optnas.studies._sampler_sections import SamplerSection
from optnas.studies._sections import DatasetSection, EmptySection, TrainSection, _Section

__all__ = ["KINDS", "StudyConfig", "load_study_file", "parse_study"]

T = TypeVar("T")


_SECTIONS: dict[str, set[str]] = {
    "study": {"kind", "name", "storage", "seed", "n_trials", "artifacts", "description"},
    "dataset": set(DatasetSection._names()),
    "space": {"preset", "arch", "overrides", "fixed"},
    "constraints": set(),  # validated by optnas.constraints.from_dict
    "sampler": set(),  # the kind's sampler section (StudyKind.sampler_section)
    "train": set(TrainSection._names()),
    "augment": set(),  # the kind's augment section (StudyKind.augment_section)
}


def _sampler_section(kind: StudyKind, table: Mapping[str, Any]) -> SamplerSection:
    """The kind's ``[sampler]`` section of ``table``."""
    section = _kind_section(kind, "sampler", table)
    if not isinstance(section, SamplerSection):  # the registry's sampler sections all are
        raise ConfigError("sampler", dict(section), f"a {kind.name} study's sampler section is not a SamplerSection")
    return section


def _kind_section(kind: StudyKind, where: str, table: Mapping[str, Any]) -> _Section:
    """The kind's ``[sampler]`` or ``[augment]`` section of ``table`` (a table the kind lacks must be empty)."""
    cls = kind.sampler_section if where == "sampler" else kind.augment_section
    if cls is None:
        if isinstance(table, EmptySection):
            return table
        table = v.table(where, table)
        if table:
            key = next(iter(table))
            raise ConfigError(f"{where}.{key}", table[key], f"a {kind.name} study has no [{where}] table; remove it")
        return EmptySection()
    if isinstance(table, _Section) and not isinstance(table, cls):
        table = table.to_dict()  # a section of another kind: its keys, checked against this kind's
    return cls.parse(table)


@dataclass(frozen=True)
class StudyConfig:
    """A validated study file: every section typed and frozen, parsed once.

    ``dataset`` and ``train`` are :mod:`optnas.studies._sections`; ``sampler`` and ``augment`` are
    the kind's own sections (``StudyKind.sampler_section`` / ``augment_section``; an
    :class:`~optnas.studies._sections.EmptySection` for a kind without ``[augment]``). A plain
    mapping given for a section (``dataclasses.replace(config, train={...})``) is parsed into one,
    and the kind's checks that span sections run again, so a config is never unvalidated.
    """

    kind: str
    name: str
    seed: int
    dataset: DatasetSection
    space: JointSpace
    constraints: tuple[Constraint, ...]
    sampler: SamplerSection
    train: TrainSection
    augment: _Section = field(default_factory=EmptySection)
    storage: str | None = None
    n_trials: int | None = None
    artifacts: str | None = None
    source: str = "<dict>"

    def __post_init__(self) -> None:
        kind = study_kind_of(self.kind)
        if not isinstance(self.dataset, DatasetSection):
            object.__setattr__(self, "dataset", DatasetSection.parse(self.dataset))
        if not isinstance(self.train, TrainSection):
            object.__setattr__(self, "train", TrainSection.parse(self.train))
        object.__setattr__(self, "sampler", _sampler_section(kind, self.sampler))
        object.__setattr__(self, "augment", _kind_section(kind, "augment", self.augment))
        kind.check(self)

    @property
    def study_kind(self) -> StudyKind:
        """The kind's registry entry."""
        return study_kind_of(self.kind)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description stored with the study (study user attributes)."""
        return {
            "kind": self.kind,
            "seed": self.seed,
            "dataset": self.dataset.to_dict(),
            "constraints": [c.to_dict() for c in self.constraints],
            "sampler": self.sampler.to_dict(),
            "train": self.train.to_dict(),
            "augment": self.augment.to_dict(),
        }


def _opt(section: Mapping[str, Any], key: str, where: str, check: Callable[[str, Any], T]) -> T | None:
    """``check(f"{where}.{key}", value)`` when the key is present, else ``None``."""
    return check(f"{where}.{key}", section[key]) if key in section else None


def _range_of(name: str, value: Any) -> IntRange | FloatRange | Choice:
    """A range override: [min, max(, step)], {low, high, step/log}, or a list of choices."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"low", "high", "step", "log"}
        if unknown:
            raise ConfigError(f"space.overrides.{name}", sorted(unknown), "unknown range keys (low, high, step, log)")
        if "low" not in value or "high" not in value:
            raise ConfigError(f"space.overrides.{name}", dict(value), "needs low and high")
        where = f"space.overrides.{name}"
        lo, hi = value["low"], value["high"]
        v.number(f"{where}.low", lo)
        v.number(f"{where}.high", hi)
        log = v.boolean(f"{where}.log", value["log"]) if "log" in value else False
        if isinstance(lo, int) and isinstance(hi, int) and not log:
            step = v.positive_int(f"{where}.step", value["step"]) if "step" in value else 1
            return IntRange(lo, hi, step)
        if "step" in value:
            raise ConfigError(f"{where}.step", value["step"], "a step needs integer bounds and no log scale")
        return FloatRange(float(lo), float(hi), log)
    if isinstance(value, list) and value:
        if all(isinstance(v, str | bool) for v in value):
            return Choice(tuple(value))
        if len(value) in (2, 3) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            if all(isinstance(v, int) for v in value):
                return IntRange(*value)
            if len(value) == 3:
                raise ConfigError(f"space.overrides.{name}", value, "a step needs integer bounds")
            return FloatRange(float(value[0]), float(value[1]))
    raise ConfigError(
        f"space.overrides.{name}", value, "expected [min, max], [min, max, step], {low, high, log} or a list of choices"
    )


def _override_of(space: JointSpace, name: str, value: Any) -> IntRange | FloatRange | Choice:
    """The new range of dimension ``name``: a list for a categorical dimension (kernel sizes too) is its choices."""
    current = next((d.spec for d in space.all_dims if d.name == name), None)
    if isinstance(current, Choice) and isinstance(value, list) and value:
        if all(isinstance(c, int) and not isinstance(c, bool) for c in current.values):
            for i, item in enumerate(value):
                v.integer(f"space.overrides.{name}[{i}]", item)
        return Choice(tuple(value))
    return _range_of(name, value)


def _space(section: Mapping[str, Any], kind: StudyKind) -> JointSpace:
    name = _opt(section, "preset", "space", v.string) or "digits"
    try:
        space = preset(name)
    except ConfigError as exc:
        raise ConfigError("space.preset", name, exc.reason) from None
    overrides = dict(_opt(section, "overrides", "space", v.table) or {})
    if overrides and not kind.searches_space:
        key = next(iter(overrides))
        raise ConfigError(
            f"space.overrides.{key}",
            overrides[key],
            f"{_article(kind.name)} {kind.name} study trains one fixed child network with one fixed recipe, so a "
            "search range cannot apply; remove [space.overrides] (choose the child with space.arch or [space.fixed])",
        )
    # Range overrides first, so that a dimension's new range is what the fixed values are checked against.
    for key, value in overrides.items():
        try:
            space = space.override({key: _override_of(space, key, value)})
        except ConfigError as exc:
            if exc.field.startswith("space."):
                raise
            raise ConfigError(f"space.overrides.{key}", value, exc.reason) from exc
    arch_text = _opt(section, "arch", "space", v.string)
    if kind.arch == "required" and arch_text is None:
        raise ConfigError("space.arch", None, f"an {kind.name} study needs a fixed architecture (space.arch)")
    if arch_text is not None:
        try:
            arch = parse_arch(arch_text)
        except ConfigError as exc:
            raise ConfigError("space.arch", arch_text, f"{exc.field}={exc.value!r}: {exc.reason}") from None
        if not kind.searches_architecture:
            if (
                isinstance(arch, TorchvisionArch)
                and not arch.supports_stochastic_depth
                and "stochastic_depth" in overrides
            ):
                raise ConfigError(
                    "space.overrides.stochastic_depth",
                    overrides["stochastic_depth"],
                    f"torchvision's {arch.model} has no stochastic depth to search",
                )
            try:
                space = space.recipe_only(arch)
            except ConfigError as exc:
                raise ConfigError("space.arch", arch_text, f"{exc.field}={exc.value!r}: {exc.reason}") from None
        else:
            raise ConfigError(
                "space.arch", arch_text, f"a {kind.name} study searches the architecture; remove space.arch"
            )
    fixed = dict(_opt(section, "fixed", "space", v.table) or {})
    for key, value in fixed.items():
        space = _fix(space, key, value)
    return space


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _fix(space: JointSpace, key: str, value: Any) -> JointSpace:
    """``space`` with ``[space.fixed] key = value``; every error names ``space.fixed.<key>``."""
    where = f"space.fixed.{key}"
    dims = {d.name: d for d in space.all_dims}
    if key not in dims:
        raise ConfigError(where, value, f"unknown dimension; expected one of {sorted(dims)}")
    spec = dims[key].spec
    if isinstance(spec, IntRange):
        v.integer(where, value)
    elif isinstance(spec, FloatRange):
        v.number(where, value)
    elif not any(type(value) is type(choice) and value == choice for choice in spec.values):  # 1 is not true
        got = "" if any(type(value) is type(choice) for choice in spec.values) else f", got {v.kind_of(value)}"
        raise ConfigError(where, value, f"must be one of {list(spec.values)}{got}")
    try:
        return space.fix(**{key: value})
    except ConfigError as exc:
        raise ConfigError(where, value, exc.reason) from None


def _constraints(section: Mapping[str, Any], kind: StudyKind) -> tuple[Constraint, ...]:
    """The ``[constraints]`` table; an augmentation study (one fixed child network) takes none."""
    for key, value in section.items():
        if not key.startswith("max_"):
            from_dict({key: value})  # its error names the expected key form
        v.positive_number(f"constraints.{key}", value)
    if not kind.takes_constraints and section:
        key = next(iter(section))
        raise ConfigError(
            f"constraints.{key}",
            section[key],
            f"a {kind.name} study trains one fixed child network, so a resource constraint cannot apply; "
            "remove [constraints] (choose the child with space.arch)",
        )
    return tuple(from_dict(section))


def parse_study(data: Mapping[str, Any], *, source: str = "<dict>") -> StudyConfig:
    """Validate a parsed study file (see the module docstring for the schema)."""
    for key, value in data.items():
        if key not in _SECTIONS:
            raise ConfigError("section", key, f"unknown section; expected one of {sorted(_SECTIONS)}")
        v.table(key, value)
        allowed = _SECTIONS[key]
        if allowed:
            for sub in value:
                if sub not in allowed:
                    raise ConfigError(f"{key}.{sub}", value[sub], f"unknown key; expected one of {sorted(allowed)}")
    study = data.get("study", {})
    if _opt(study, "kind", "study", v.string) is None:
        raise ConfigError("study.kind", None, f"missing; expected one of {KINDS}")
    kind = study_kind_of(study["kind"])
    name = _opt(study, "name", "study", v.string) or f"optnas-{kind.name}"
    seed = _opt(study, "seed", "study", v.non_negative_int) or 0
    n_trials = _opt(study, "n_trials", "study", v.positive_int)
    storage = _opt(study, "storage", "study", v.string)
    artifacts = _opt(study, "artifacts", "study", v.string)
    _opt(study, "description", "study", v.string)

    dataset = _dataset(data.get("dataset", {}), source)
    space = _space(data.get("space", {}), kind)
    constraints = _constraints(data.get("constraints", {}), kind)
    sampler = _sampler_section(kind, data.get("sampler", {}))
    train = TrainSection.parse(data.get("train", {}))
    augment = _kind_section(kind, "augment", data.get("augment", {}))
    return StudyConfig(
        kind=kind.name,
        name=name,
        seed=seed,
        dataset=dataset,
        space=space,
        constraints=constraints,
        sampler=sampler,
        train=train,
        augment=augment,
        storage=storage,
        n_trials=n_trials,
        artifacts=artifacts,
        source=source,
    )


def _dataset(table: Mapping[str, Any], source: str) -> DatasetSection:
    """The ``[dataset]`` section, with ``root`` resolved for an imagefolder dataset."""
    dataset = DatasetSection.parse(table)
    root = dataset.root
    if dataset.name == "imagefolder":
        if root is None:
            raise ConfigError("dataset.root", None, "an imagefolder dataset needs a root directory")
        base = Path(source).parent if source not in ("<dict>", "<string>") else Path.cwd()
        path = Path(root) if Path(root).is_absolute() else (base / root)
        if not path.is_dir():
            # Relative to the current directory as well, as a user typing a path expects.
            if Path(root).is_dir():
                path = Path(root)
            else:
                raise ConfigError("dataset.root", root, "directory does not exist")
        dataset = dataclasses.replace(dataset, root=str(path.resolve()))
    return dataset


def load_study_file(path: str | Path) -> StudyConfig:
    """Read and validate a study file."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError("study file", str(path), "is a directory, not a study file")
    if not p.is_file():
        raise ConfigError("study file", str(path), "does not exist")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("study file", str(path), f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("study file", str(path), "is not UTF-8 text") from None
    return parse_study(data, source=str(p))
