"""The joint architecture + recipe search space of FBNetV3 (Dai et al., 2021, Sec. 3, Table 1).

A :class:`JointSpace` has per-group ranges (kernel choices, expansion range, channel range with a
step, depth range; stride, squeeze-excite and activation fixed per group), a stem width range, a
resolution range, head width and recipe ranges. It declares itself as Optuna distributions with
stable parameter names:

``resolution``, ``stem_c``, ``g<i>_k``, ``g<i>_e``, ``g<i>_c``, ``g<i>_n``, ``head_c`` and the
recipe fields (``optimizer``, ``lr``, ``weight_decay``, ...).

Dimensions with a single value, dimensions fixed with :meth:`JointSpace.fix`, and the whole
architecture when fixed with :meth:`JointSpace.recipe_only` (AutoTrain, FBNetV3 Sec. 5.2) are not
searched. Points are handled as *column arrays* (one row per candidate, one column per free
dimension; categorical columns hold the choice index), which is what QMC pools, the cost model,
the predictor and the genetic algorithm consume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError
from optnas.space._arch import ACTIVATIONS, SE_VARIANTS, Arch, Block, Head, Stage, Stem
from optnas.space._columns import ColumnsMixin
from optnas.space._dims import Choice, Dim, FloatRange, IntRange
from optnas.space._recipe import OPTIMIZERS, Recipe
from optnas.space._torchvision import PREFIX, AnyArch, TorchvisionArch

if TYPE_CHECKING:
    import optuna

__all__ = ["GroupSpec", "JointSpace", "RecipeSpec"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroupSpec:
    """Ranges of one group (stage) of blocks: FBNetV3 Table 1, one row."""

    kernels: tuple[int, ...]
    expansion: IntRange
    channels: IntRange
    depth: IntRange
    stride: int = 1
    se: str | None = None
    act: str = "hs"

    def validate(self, i: int) -> None:
        """Raise :class:`ConfigError` naming ``g<i>_...`` for malformed ranges."""
        Choice(tuple(self.kernels)).validate(f"g{i}_k")
        for k in self.kernels:
            if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
                raise ConfigError(f"g{i}_k", k, "kernel sizes must be positive odd integers")
        self.expansion.validate(f"g{i}_e", minimum=1)
        self.channels.validate(f"g{i}_c", minimum=1)
        self.depth.validate(f"g{i}_n", minimum=1)
        if isinstance(self.stride, bool) or not isinstance(self.stride, int) or self.stride < 1:
            raise ConfigError(f"g{i}_stride", self.stride, "must be a positive integer")
        if self.se is not None and self.se not in SE_VARIANTS:
            raise ConfigError(f"g{i}_se", self.se, f"unknown squeeze-excite variant; expected {SE_VARIANTS}")
        if self.act not in ACTIVATIONS:
            raise ConfigError(f"g{i}_act", self.act, f"unknown activation; expected one of {sorted(ACTIVATIONS)}")


_RECIPE_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "lr": (0.0, None),
    "weight_decay": (0.0, None),
    "momentum": (0.0, 0.999),
    "mixup_alpha": (0.0, None),
    "dropout": (0.0, 0.99),
    "stochastic_depth": (0.0, 0.99),
    "ema_decay": (0.0, 0.99999),
    "label_smoothing": (0.0, 0.99),
    "warmup_epochs": (0.0, None),
}


@dataclass(frozen=True)
class RecipeSpec:
    """Ranges of the training recipe (FBNetV3 Table 1, lower half).

    A field given as a :class:`FloatRange`/:class:`IntRange` with ``low == high`` or a
    :class:`Choice` of one value is fixed.
    """

    optimizer: Choice = Choice(("sgd", "rmsprop"))
    lr: FloatRange = FloatRange(0.01, 0.4, log=True)
    weight_decay: FloatRange = FloatRange(1e-6, 1e-4, log=True)
    momentum: FloatRange = FloatRange(0.9, 0.9)
    mixup_alpha: FloatRange = FloatRange(0.0, 0.4)
    dropout: FloatRange = FloatRange(0.15, 0.3)
    stochastic_depth: FloatRange = FloatRange(0.1, 0.2)
    ema: Choice = Choice((True, False))
    ema_decay: FloatRange = FloatRange(0.9998, 0.9998)
    label_smoothing: FloatRange = FloatRange(0.1, 0.1)
    epochs: IntRange = IntRange(360, 360)
    batch_size: Choice = Choice((256,))
    warmup_epochs: FloatRange = FloatRange(5.0, 5.0)

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the recipe field for malformed ranges."""
        self.optimizer.validate("optimizer")
        for opt in self.optimizer.values:
            if opt not in OPTIMIZERS:
                raise ConfigError("optimizer", opt, f"unknown optimizer; expected one of {OPTIMIZERS}")
        for name, (lo, hi) in _RECIPE_BOUNDS.items():
            spec = getattr(self, name)
            if not isinstance(spec, FloatRange):
                raise ConfigError(name, spec, "expected a float range")
            spec.validate(name, minimum=lo, maximum=hi)
        if self.lr.low <= 0:
            raise ConfigError("lr", (self.lr.low, self.lr.high), "learning rates must be > 0")
        self.ema.validate("ema")
        for v in self.ema.values:
            if not isinstance(v, bool):
                raise ConfigError("ema", v, "choices must be true/false")
        self.epochs.validate("epochs", minimum=1)
        self.batch_size.validate("batch_size")
        for v in self.batch_size.values:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError("batch_size", v, "must be a positive integer")

    def dims(self) -> list[Dim]:
        """One :class:`Dim` per recipe field, in :class:`~optnas.space.Recipe` field order."""
        return [Dim(f.name, getattr(self, f.name), "recipe") for f in dataclasses.fields(self)]

    @classmethod
    def fixed(cls, recipe: Recipe) -> RecipeSpec:
        """A spec whose only point is ``recipe``."""
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            v = getattr(recipe, f.name)
            default = getattr(cls, f.name)
            if isinstance(default, Choice):
                kw[f.name] = Choice((v,))
            elif isinstance(default, IntRange):
                kw[f.name] = IntRange(v, v)
            else:
                kw[f.name] = FloatRange(float(v), float(v))
        return cls(**kw)


def _spec_to_json(spec: IntRange | FloatRange | Choice) -> dict[str, Any]:
    if isinstance(spec, Choice):
        return {"choices": list(spec.values)}
    if isinstance(spec, IntRange):
        return {"int": [spec.low, spec.high, spec.step]}
    return {"float": [spec.low, spec.high], "log": spec.log}


def _spec_from_json(name: str, data: Any) -> IntRange | FloatRange | Choice:
    if not isinstance(data, Mapping):
        raise ConfigError(name, data, "expected a range object")
    if "choices" in data:
        return Choice(tuple(data["choices"]))
    if "int" in data:
        lo, hi, step = data["int"]
        return IntRange(lo, hi, step)
    if "float" in data:
        lo, hi = data["float"]
        return FloatRange(lo, hi, bool(data.get("log", False)))
    raise ConfigError(name, data, "expected one of 'choices', 'int', 'float'")


@dataclass(frozen=True)
class JointSpace(ColumnsMixin):
    """Joint architecture + recipe search space (FBNetV3, Sec. 3).

    Args:
        resolution: input resolution range.
        stem_channels: stem width range.
        groups: per-group ranges.
        head_channels: head width range.
        recipe: recipe ranges.
        stem_kernel, stem_stride, stem_act: fixed stem settings.
        head_fc, head_act: fixed head settings.
        name: a label (the preset name) used in reports.
        fixed: ``(name, value)`` pairs of dimensions fixed to a value (see :meth:`fix`).
        fixed_arch: when set, the architecture (an :class:`Arch` or a torchvision classifier,
            :class:`TorchvisionArch`) is fixed and only the recipe is searched (AutoTrain, see
            :meth:`recipe_only`).
    """

    resolution: IntRange
    stem_channels: IntRange
    groups: tuple[GroupSpec, ...]
    head_channels: IntRange
    recipe: RecipeSpec = RecipeSpec()
    stem_kernel: int = 3
    stem_stride: int = 2
    stem_act: str = "hs"
    head_fc: int | None = None
    head_act: str = "hs"
    name: str = "custom"
    fixed: tuple[tuple[str, Any], ...] = ()
    fixed_arch: AnyArch | None = None
    _all: tuple[Dim, ...] = field(init=False, repr=False, compare=False, hash=False)
    _free: tuple[Dim, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "fixed", tuple((str(k), v) for k, v in self.fixed))
        if self.fixed_arch is None:
            if not self.groups:
                raise ConfigError("groups", self.groups, "a space needs at least one group")
            self.resolution.validate("resolution", minimum=1)
            self.stem_channels.validate("stem_c", minimum=1)
            for i, g in enumerate(self.groups):
                g.validate(i)
            self.head_channels.validate("head_c", minimum=1)
            Stem(self.stem_channels.low, self.stem_kernel, self.stem_stride, self.stem_act)
            Head(self.head_channels.low, self.head_fc, self.head_act)
            total_stride = self.stem_stride * math.prod(g.stride for g in self.groups)
            if self.resolution.low < total_stride:
                raise ConfigError(
                    "resolution",
                    (self.resolution.low, self.resolution.high),
                    f"smallest resolution is below the space's total stride {total_stride}",
                )
        self.recipe.validate()
        dims: list[Dim] = []
        if self.fixed_arch is None:
            dims.append(Dim("resolution", self.resolution, "arch"))
            dims.append(Dim("stem_c", self.stem_channels, "arch"))
            for i, g in enumerate(self.groups):
                dims.append(Dim(f"g{i}_k", Choice(tuple(g.kernels)), "arch"))
                dims.append(Dim(f"g{i}_e", g.expansion, "arch"))
                dims.append(Dim(f"g{i}_c", g.channels, "arch"))
                dims.append(Dim(f"g{i}_n", g.depth, "arch"))
            dims.append(Dim("head_c", self.head_channels, "arch"))
        dims.extend(self.recipe.dims())
        if isinstance(self.fixed_arch, TorchvisionArch) and not self.fixed_arch.supports_stochastic_depth:
            sd_range = self.recipe.stochastic_depth
            sd = dict(self.fixed).get("stochastic_depth", sd_range.low if sd_range.low == sd_range.high else None)
            if sd is None or float(sd) != 0.0:
                raise ConfigError(
                    "stochastic_depth",
                    (sd_range.low, sd_range.high) if sd is None else sd,
                    f"torchvision's {self.fixed_arch.model} has no stochastic depth; it must be 0",
                )
        by_name = {d.name: d for d in dims}
        fixed_names = set()
        for key, value in self.fixed:
            if key not in by_name:
                raise ConfigError("fix", key, f"unknown dimension; expected one of {sorted(by_name)}")
            by_name[key].to_column(value)  # validates the value
            fixed_names.add(key)
        object.__setattr__(self, "_all", tuple(dims))
        object.__setattr__(self, "_free", tuple(d for d in dims if not d.fixed and d.name not in fixed_names))

    # --- dimensions -----------------------------------------------------------------------------
    @property
    def dims(self) -> tuple[Dim, ...]:
        """The searched dimensions, architecture first, then recipe."""
        return self._free

    @property
    def all_dims(self) -> tuple[Dim, ...]:
        """Every dimension, fixed ones included."""
        return self._all

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the searched dimensions (the Optuna parameter names)."""
        return tuple(d.name for d in self._free)

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """Optuna distributions of the searched dimensions."""
        return {d.name: d.distribution() for d in self._free}

    def fixed_values(self) -> dict[str, Any]:
        """Values of every non-searched dimension."""
        explicit = dict(self.fixed)
        out: dict[str, Any] = {}
        for d in self._all:
            if d.name in explicit:
                out[d.name] = explicit[d.name]
            elif d.fixed:
                out[d.name] = d.single_value()
        return out

    # --- derived spaces -------------------------------------------------------------------------
    def fix(self, **values: Any) -> JointSpace:
        """A copy with the given dimensions fixed, e.g. ``space.fix(resolution=32, ema=False)``."""
        merged = dict(self.fixed)
        merged.update(values)
        return dataclasses.replace(self, fixed=tuple(sorted(merged.items())))

    def recipe_only(self, arch: AnyArch) -> JointSpace:
        """AutoTrain (FBNetV3 Sec. 5.2, Table 2): fix the architecture, search the recipe.

        Values fixed earlier with :meth:`fix` are kept for the recipe dimensions; those of
        architecture dimensions are dropped (the whole architecture is now fixed). For a
        :class:`TorchvisionArch` without stochastic depth (ResNet, MobileNet) the
        ``stochastic_depth`` dimension is fixed to 0, since the network has nowhere to apply it.
        """
        if not isinstance(arch, Arch | TorchvisionArch):
            raise ConfigError("arch", type(arch).__name__, "expected an Arch or a TorchvisionArch")
        recipe_names = {f.name for f in dataclasses.fields(RecipeSpec)}
        kept = tuple((k, v) for k, v in self.fixed if k in recipe_names)
        recipe = self.recipe
        if isinstance(arch, TorchvisionArch) and not arch.supports_stochastic_depth:
            recipe = dataclasses.replace(recipe, stochastic_depth=FloatRange(0.0, 0.0))
        return dataclasses.replace(self, fixed_arch=arch, fixed=kept, recipe=recipe)

    def override(self, ranges: Mapping[str, IntRange | FloatRange | Choice]) -> JointSpace:
        """A copy with some dimensions' ranges replaced, by parameter name."""
        space = self
        for name, spec in ranges.items():
            space = space._with_spec(name, spec)
        return space

    def _with_spec(self, name: str, spec: IntRange | FloatRange | Choice) -> JointSpace:
        recipe_fields = {f.name for f in dataclasses.fields(RecipeSpec)}
        if name in recipe_fields:
            expected = type(getattr(self.recipe, name))
            if not isinstance(spec, expected):
                raise ConfigError(name, spec, f"expected a {expected.__name__}")
            return dataclasses.replace(self, recipe=dataclasses.replace(self.recipe, **{name: spec}))
        top = {"resolution": "resolution", "stem_c": "stem_channels", "head_c": "head_channels"}
        if name in top:
            if not isinstance(spec, IntRange):
                raise ConfigError(name, spec, "expected an integer range [min, max(, step)]")
            kw: dict[str, Any] = {top[name]: spec}
            return dataclasses.replace(self, **kw)
        if name.startswith("g") and "_" in name:
            idx, _, what = name[1:].partition("_")
            if idx.isdigit() and int(idx) < len(self.groups) and what in ("k", "e", "c", "n"):
                g = self.groups[int(idx)]
                if what == "k":
                    if not isinstance(spec, Choice):
                        raise ConfigError(name, spec, "expected a list of kernel sizes")
                    new = dataclasses.replace(g, kernels=tuple(spec.values))  # type: ignore[arg-type]
                else:
                    if not isinstance(spec, IntRange):
                        raise ConfigError(name, spec, "expected an integer range [min, max(, step)]")
                    attr = {"e": "expansion", "c": "channels", "n": "depth"}[what]
                    gkw: dict[str, Any] = {attr: spec}
                    new = dataclasses.replace(g, **gkw)
                groups = list(self.groups)
                groups[int(idx)] = new
                return dataclasses.replace(self, groups=tuple(groups))
        raise ConfigError("space override", name, f"unknown dimension; expected one of {[d.name for d in self._all]}")

    # --- serialization ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable description (stored with studies; see :meth:`from_dict`)."""
        return {
            "name": self.name,
            "resolution": _spec_to_json(self.resolution),
            "stem_channels": _spec_to_json(self.stem_channels),
            "stem": [self.stem_kernel, self.stem_stride, self.stem_act],
            "groups": [
                {
                    "k": list(g.kernels),
                    "e": _spec_to_json(g.expansion),
                    "c": _spec_to_json(g.channels),
                    "n": _spec_to_json(g.depth),
                    "stride": g.stride,
                    "se": g.se,
                    "act": g.act,
                }
                for g in self.groups
            ],
            "head_channels": _spec_to_json(self.head_channels),
            "head": [self.head_fc, self.head_act],
            "recipe": {d.name: _spec_to_json(d.spec) for d in self.recipe.dims()},
            "fixed": [[k, v] for k, v in self.fixed],
            "fixed_arch": None if self.fixed_arch is None else str(self.fixed_arch),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JointSpace:
        """Inverse of :meth:`to_dict`."""
        try:
            groups = tuple(
                GroupSpec(
                    kernels=tuple(g["k"]),
                    expansion=_spec_from_json("e", g["e"]),  # type: ignore[arg-type]
                    channels=_spec_from_json("c", g["c"]),  # type: ignore[arg-type]
                    depth=_spec_from_json("n", g["n"]),  # type: ignore[arg-type]
                    stride=g["stride"],
                    se=g["se"],
                    act=g["act"],
                )
                for g in data["groups"]
            )
            rkw: dict[str, Any] = {k: _spec_from_json(k, v) for k, v in data["recipe"].items()}
            recipe = RecipeSpec(**rkw)
            text = data.get("fixed_arch")
            fixed_arch: AnyArch | None = None
            if text:
                fixed_arch = TorchvisionArch.parse(text) if text.startswith(PREFIX) else Arch.parse(text)
            return cls(
                resolution=_spec_from_json("resolution", data["resolution"]),  # type: ignore[arg-type]
                stem_channels=_spec_from_json("stem_c", data["stem_channels"]),  # type: ignore[arg-type]
                groups=groups,
                head_channels=_spec_from_json("head_c", data["head_channels"]),  # type: ignore[arg-type]
                recipe=recipe,
                stem_kernel=data["stem"][0],
                stem_stride=data["stem"][1],
                stem_act=data["stem"][2],
                head_fc=data["head"][0],
                head_act=data["head"][1],
                name=data.get("name", "custom"),
                fixed=tuple((k, v) for k, v in data.get("fixed", [])),
                fixed_arch=fixed_arch,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError("space", type(exc).__name__, f"malformed space description: {exc}") from exc

    def fingerprint(self) -> str:
        """A stable hash of the space (keys predictor caches and stored artifacts)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # --- points -----------------------------------------------------------------------------------
    def full_columns(self, cols: FloatArray) -> dict[str, FloatArray]:
        """Every dimension's column (fixed ones broadcast), keyed by name."""
        n = cols.shape[0]
        out = {d.name: cols[:, j] for j, d in enumerate(self._free)}
        for name, value in self.fixed_values().items():
            dim = next(d for d in self._all if d.name == name)
            out[name] = np.full(n, dim.to_column(value))
        return out

    def decode_params(self, params: Mapping[str, Any]) -> tuple[AnyArch, Recipe]:
        """``(Arch, Recipe)`` of a parameter dict (fixed dimensions filled in)."""
        values = self.fixed_values()
        for d in self._free:
            if d.name not in params:
                raise ConfigError(d.name, None, "missing parameter")
            d.to_column(params[d.name])
            values[d.name] = params[d.name]
        return self._arch_of(values), self._recipe_of(values)

    def _arch_of(self, v: Mapping[str, Any]) -> AnyArch:
        if self.fixed_arch is not None:
            return self.fixed_arch
        stages = tuple(
            Stage(
                Block(
                    kernel=int(v[f"g{i}_k"]),
                    out_channels=int(v[f"g{i}_c"]),
                    stride=g.stride,
                    expansion=float(v[f"g{i}_e"]),
                    se=g.se,
                    act=g.act,
                ),
                int(v[f"g{i}_n"]),
            )
            for i, g in enumerate(self.groups)
        )
        return Arch(
            resolution=int(v["resolution"]),
            stem=Stem(int(v["stem_c"]), self.stem_kernel, self.stem_stride, self.stem_act),
            stages=stages,
            head=Head(int(v["head_c"]), self.head_fc, self.head_act),
        )

    def _recipe_of(self, v: Mapping[str, Any]) -> Recipe:
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(Recipe):
            value = v[f.name]
            if f.name in ("epochs", "batch_size"):
                value = int(value)
            elif f.name == "ema":
                value = bool(value)
            elif f.name != "optimizer":
                value = float(value)
            kw[f.name] = value
        return Recipe(**kw)

    def iter_candidates(self, cols: FloatArray) -> Iterator[tuple[AnyArch, Recipe]]:
        """Decode every row of a column array."""
        for row in cols:
            yield self.decode_params(self.to_params(row))

    def suggest(self, trial: optuna.trial.BaseTrial) -> tuple[AnyArch, Recipe]:
        """Suggest every searched dimension on ``trial`` and decode the point."""
        params: dict[str, Any] = {}
        for d in self._free:
            s = d.spec
            if isinstance(s, Choice):
                params[d.name] = trial.suggest_categorical(d.name, s.values)
            elif isinstance(s, IntRange):
                params[d.name] = trial.suggest_int(d.name, s.low, s.high, step=s.step)
            else:
                params[d.name] = trial.suggest_float(d.name, s.low, s.high, log=s.log)
        return self.decode_params(params)
