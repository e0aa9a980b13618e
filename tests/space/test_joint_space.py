"""``JointSpace``: Optuna distributions, suggest, encode/decode, QMC pools, fix, serialization."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from scipy import stats

from optnas import ConfigError
from optnas.space import (
    PRESETS,
    Arch,
    Choice,
    FloatRange,
    GroupSpec,
    IntRange,
    JointSpace,
    Recipe,
    RecipeSpec,
    preset,
    reference,
)

PRESET_NAMES = sorted(PRESETS)
RECIPE_FIELDS = [f.name for f in dataclasses.fields(Recipe)]


def _derived_spaces() -> dict[str, JointSpace]:
    """Presets plus spaces derived with fix / recipe_only / override (parametrization ids)."""
    out = {name: preset(name) for name in PRESET_NAMES}
    out["digits.fix"] = preset("digits").fix(resolution=12, g1_k=5, ema=False, lr=0.01)
    out["cifar.recipe_only"] = preset("cifar").recipe_only(
        Arch.parse("res32 stem_k3_s1_c16_hs ir_k3_e1_c16_hs ir_k5_e3_c32_s2_n2_se_hs head_c128_hs")
    )
    out["fbnetv3.override"] = preset("fbnetv3").override(
        {"head_c": IntRange(1536, 1984, 64), "g6_e": IntRange(4, 6), "ema": Choice((True,))}
    )
    return out


SPACES = _derived_spaces()


def _point(space: JointSpace, arch: Arch, recipe: Recipe) -> dict[str, Any]:
    """Every dimension's value read back from a decoded (arch, recipe)."""
    out: dict[str, Any] = {f: getattr(recipe, f) for f in RECIPE_FIELDS}
    if space.fixed_arch is not None:
        return out
    out["resolution"] = arch.resolution
    out["stem_c"] = arch.stem.out_channels
    out["head_c"] = arch.head.channels
    assert len(arch.stages) == len(space.groups)
    for i, (stage, group) in enumerate(zip(arch.stages, space.groups, strict=True)):
        b = stage.block
        out[f"g{i}_k"] = b.kernel
        out[f"g{i}_e"] = b.expansion
        out[f"g{i}_c"] = b.out_channels
        out[f"g{i}_n"] = stage.repeats
        # per-group constants come from the GroupSpec, never from the parameters
        assert (b.stride, b.se, b.act, b.expanded) == (group.stride, group.se, group.act, None)
    assert (arch.stem.kernel, arch.stem.stride, arch.stem.act) == (
        space.stem_kernel,
        space.stem_stride,
        space.stem_act,
    )
    assert (arch.head.fc, arch.head.act) == (space.head_fc, space.head_act)
    return out


def _check_consistent(space: JointSpace, params: dict[str, Any], arch: Arch, recipe: Recipe) -> None:
    point = _point(space, arch, recipe)
    expected = {**space.fixed_values(), **params}
    assert set(point) == set(expected) or space.fixed_arch is not None
    for name, value in expected.items():
        assert point[name] == value, name
    # decoded values have the dataclasses' types, whatever Optuna handed over
    kinds = {"optimizer": str, "ema": bool, "epochs": int, "batch_size": int}
    for f in RECIPE_FIELDS:
        assert type(getattr(recipe, f)) is kinds.get(f, float), f
    if space.fixed_arch is None:
        assert type(arch.resolution) is int
        for stage in arch.stages:
            assert type(stage.block.kernel) is int and type(stage.repeats) is int
            assert type(stage.block.out_channels) is int and type(stage.block.expansion) is float


# --- names and distributions ----------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_dimension_names_are_stable(name: str) -> None:
    space = preset(name)
    groups = [f"g{i}_{x}" for i in range(len(space.groups)) for x in "kecn"]
    assert [d.name for d in space.all_dims] == [
        "resolution",
        "stem_c",
        *groups,
        "head_c",
        *RECIPE_FIELDS,
    ]
    assert space.names == tuple(d.name for d in space.all_dims if not d.fixed)
    assert set(space.names).isdisjoint(space.fixed_values())
    assert set(space.names) | set(space.fixed_values()) == {d.name for d in space.all_dims}
    assert list(space.distributions()) == list(space.names)
    # architecture dimensions first, recipe after
    parts = [d.part for d in space.dims]
    assert parts == sorted(parts)  # "arch" < "recipe"


def test_digits_distributions_exactly() -> None:
    space = preset("digits")
    assert space.names == (
        "resolution",
        "stem_c",
        "g0_c",
        "g0_n",
        "g1_k",
        "g1_e",
        "g1_c",
        "g1_n",
        "g2_k",
        "g2_e",
        "g2_c",
        "g2_n",
        "optimizer",
        "lr",
        "weight_decay",
        "mixup_alpha",
        "dropout",
        "stochastic_depth",
        "ema",
        "label_smoothing",
    )
    d = space.distributions()
    assert d["resolution"] == IntDistribution(8, 16, step=4)
    assert d["g1_c"] == IntDistribution(16, 32, step=8)
    assert d["g1_k"] == CategoricalDistribution((3, 5))
    assert d["lr"] == FloatDistribution(1e-3, 0.3, log=True)
    assert d["dropout"] == FloatDistribution(0.0, 0.3)
    assert d["optimizer"] == CategoricalDistribution(("sgd", "adamw"))
    assert d["ema"] == CategoricalDistribution((True, False))
    assert space.fixed_values() == {
        "g0_k": 3,
        "g0_e": 1,
        "head_c": 64,
        "momentum": 0.9,
        "ema_decay": 0.98,
        "epochs": 6,
        "batch_size": 64,
        "warmup_epochs": 0.5,
    }


# --- suggest -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SPACES))
def test_suggest_with_a_real_study(key: str) -> None:
    space = SPACES[key]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        arch, recipe = space.suggest(trial)
        assert isinstance(arch, Arch)
        assert isinstance(recipe, Recipe)
        assert list(trial.params) == list(space.names)
        assert trial.distributions == space.distributions()
        _check_consistent(space, trial.params, arch, recipe)
        assert space.decode_params(trial.params) == (arch, recipe)
        seen.add((str(arch), recipe))
        study.tell(trial, 0.0)
    assert len(seen) == 12
    # the stored trials decode back to the same points
    for t in study.trials:
        assert set(t.params) == set(space.names)
    # FixedTrial: suggest returns exactly the given point
    params = study.trials[-1].params
    assert space.suggest(optuna.trial.FixedTrial(params)) == space.decode_params(params)


def test_recipe_only_fixed_arch_is_returned_unchanged() -> None:
    space = SPACES["cifar.recipe_only"]
    assert space.fixed_arch is not None
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    arch, _ = space.suggest(study.ask())
    assert arch == space.fixed_arch


def test_decode_params_rejects_missing_and_illegal_values() -> None:
    space = preset("digits")
    params = space.to_params(space.sample(1, 0)[0])
    missing = {k: v for k, v in params.items() if k != "g1_c"}
    with pytest.raises(ConfigError) as info:
        space.decode_params(missing)
    assert info.value.field == "g1_c"
    for name, bad in [("g1_c", 20), ("resolution", 40), ("optimizer", "adam"), ("lr", 1.0)]:
        with pytest.raises(ConfigError) as info:
            space.decode_params({**params, name: bad})
        assert info.value.field == name
        assert info.value.value == bad


# --- pools ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SPACES))
def test_pool_rows_are_legal_points(key: str) -> None:
    space = SPACES[key]
    cols = space.sample(200, 11)
    assert cols.shape == (200, len(space.names))
    params = [space.to_params(row) for row in cols]
    np.testing.assert_array_equal(space.to_columns(params), cols)
    for p, (arch, recipe) in zip(params, space.iter_candidates(cols), strict=True):
        _check_consistent(space, p, arch, recipe)
        for name, dist in space.distributions().items():
            assert dist._contains(dist.to_internal_repr(p[name])), (name, p[name])


def test_sample_is_deterministic_under_a_seed() -> None:
    space = preset("fbnetv3")
    a = space.sample(512, 5)
    np.testing.assert_array_equal(a, space.sample(512, 5))
    np.testing.assert_array_equal(
        space.sample(512, np.random.default_rng(9)), space.sample(512, np.random.default_rng(9))
    )
    b = space.sample(512, 6)
    assert not np.array_equal(a, b)
    assert (a != b).any(axis=1).mean() > 0.99  # nearly every row differs
    # the pool is a prefix of the 2**m Sobol sequence
    np.testing.assert_array_equal(space.sample(1000, 5), space.sample(1024, 5)[:1000])


def test_sample_does_not_touch_numpy_global_rng() -> None:
    before = np.random.get_state()
    preset("cifar").sample(64, 1)
    preset("cifar").sample_uniform(64, np.random.default_rng(1))
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])  # type: ignore[arg-type]
    assert before[2:] == after[2:]


def _uniformity_pvalues(space: JointSpace, cols: np.ndarray) -> dict[str, float]:
    """p-values: chi-square for discrete dims, Kolmogorov-Smirnov (unit scale) for continuous."""
    out = {}
    for j, d in enumerate(space.dims):
        col = cols[:, j]
        spec = d.spec
        if isinstance(spec, Choice | IntRange):
            n_values = d.n_values()
            assert n_values is not None
            legal = np.array([d.to_column(v) for v in _values(spec)])
            counts = np.array([(col == v).sum() for v in legal])
            assert counts.sum() == len(col), d.name  # every value on the grid
            out[d.name] = float(stats.chisquare(counts).pvalue)
        else:
            if spec.log:
                z = (np.log(col) - math.log(spec.low)) / (math.log(spec.high) - math.log(spec.low))
            else:
                z = (col - spec.low) / (spec.high - spec.low)
            assert ((z >= 0) & (z <= 1)).all(), d.name
            out[d.name] = float(stats.kstest(z, "uniform").pvalue)
    return out


def _values(spec: Choice | IntRange) -> list[Any]:
    if isinstance(spec, Choice):
        return list(spec.values)
    return list(range(spec.low, spec.high + 1, spec.step))


@pytest.mark.parametrize("name", PRESET_NAMES)
@pytest.mark.parametrize("n", [4096, 1000])
def test_qmc_pool_marginals_are_uniform(name: str, n: int) -> None:
    space = preset(name)
    pvalues = _uniformity_pvalues(space, space.sample(n, 123))
    assert set(pvalues) == set(space.names)
    low = {k: p for k, p in pvalues.items() if p < 1e-3}
    assert not low, low


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_iid_uniform_pool_marginals_are_uniform(name: str) -> None:
    space = preset(name)
    cols = space.sample_uniform(4000, np.random.default_rng(77))
    pvalues = _uniformity_pvalues(space, cols)
    low = {k: p for k, p in pvalues.items() if p < 1e-4}
    assert not low, low


def test_uniformity_check_detects_a_biased_mapping() -> None:
    # Control for the statistical test above: rounding instead of flooring halves the mass
    # of the end values, which the chi-square test must flag.
    space = preset("digits")
    u = np.random.default_rng(0).random(4096)
    d = next(d for d in space.dims if d.name == "g1_c")
    biased = d.spec.low + np.round(u * (d.spec.high - d.spec.low) / 8) * 8  # type: ignore[union-attr]
    counts = np.array([(biased == v).sum() for v in (16, 24, 32)])
    assert stats.chisquare(counts).pvalue < 1e-6
    fair = d.from_unit(u)
    counts = np.array([(fair == v).sum() for v in (16, 24, 32)])
    assert stats.chisquare(counts).pvalue > 1e-3


def test_sample_rejects_bad_sizes() -> None:
    space = preset("digits")
    for n in (0, -5, 2.5, True):
        with pytest.raises(ConfigError) as info:
            space.sample(n, 0)  # type: ignore[arg-type]
        assert info.value.field == "pool_size"
        assert info.value.value == n


# --- encoding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SPACES))
def test_encode_decode_round_trip(key: str) -> None:
    space = SPACES[key]
    cols = space.sample(1024, 21)
    enc = space.encode(cols)
    assert enc.shape == (1024, space.encoding_width)
    assert enc.shape[1] == sum(d.width for d in space.dims)
    assert space.arch_width == sum(d.width for d in space.dims if d.part == "arch")
    assert ((enc >= 0.0) & (enc <= 1.0)).all()
    np.testing.assert_array_equal(space.decode(enc), cols)
    pos = 0
    for j, d in enumerate(space.dims):
        block = enc[:, pos : pos + d.width]
        spec = d.spec
        if isinstance(spec, Choice):
            assert d.width == len(spec.values)
            assert set(np.unique(block)) <= {0.0, 1.0}
            np.testing.assert_array_equal(block.sum(axis=1), 1.0)
            np.testing.assert_array_equal(block.argmax(axis=1), cols[:, j])
        else:
            assert d.width == 1
            lo, hi, v = float(spec.low), float(spec.high), cols[:, j]
            if isinstance(spec, FloatRange) and spec.log:
                expected = (np.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
            else:
                expected = (v - lo) / (hi - lo)
            np.testing.assert_allclose(block[:, 0], expected, rtol=0, atol=1e-12)
        pos += d.width
    assert pos == space.encoding_width
    if space.fixed_arch is not None:
        assert space.arch_width == 0


def test_encoding_of_the_corners() -> None:
    space = preset("cifar")
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for d in space.dims:
        s = d.spec
        low[d.name] = s.values[0] if isinstance(s, Choice) else s.low
        high[d.name] = s.values[-1] if isinstance(s, Choice) else s.high
    enc = space.encode(space.to_columns([low, high]))
    pos = 0
    for d in space.dims:
        if d.is_categorical:
            assert enc[0, pos] == 1.0 and enc[1, pos + d.width - 1] == 1.0
        else:
            assert enc[0, pos] == 0.0, d.name
            assert enc[1, pos] == pytest.approx(1.0, abs=1e-12), d.name
        pos += d.width


def test_decode_snaps_noisy_encodings_to_legal_values() -> None:
    space = preset("digits")
    cols = space.sample(256, 4)
    noisy = space.encode(cols) + np.random.default_rng(0).normal(0, 0.01, (256, space.encoding_width))
    back = space.decode(noisy)
    params = [space.to_params(row) for row in back]  # would raise on an off-grid value
    np.testing.assert_array_equal(space.to_columns(params), back)
    discrete = [j for j, d in enumerate(space.dims) if d.n_values() is not None]
    # small noise does not move discrete values (grid spacing in unit scale >= 1/4 here)
    np.testing.assert_array_equal(back[:, discrete], cols[:, discrete])


# --- fix / recipe_only ---------------------------------------------------------------------------


def test_fix_removes_dims_and_decodes_to_fixed_values() -> None:
    base = preset("digits")
    space = base.fix(resolution=12, g1_k=5, ema=False, lr=0.01)
    assert space.fixed == (("ema", False), ("g1_k", 5), ("lr", 0.01), ("resolution", 12))
    assert set(space.names) == set(base.names) - {"resolution", "g1_k", "ema", "lr"}
    assert space.encoding_width == base.encoding_width - 1 - 2 - 2 - 1
    for arch, recipe in space.iter_candidates(space.sample(64, 0)):
        assert arch.resolution == 12
        assert arch.stages[1].block.kernel == 5
        assert recipe.ema is False
        assert recipe.lr == 0.01
    # fixing again merges, later values win
    again = space.fix(resolution=16, dropout=0.1)
    assert dict(again.fixed) == {
        "resolution": 16,
        "g1_k": 5,
        "ema": False,
        "lr": 0.01,
        "dropout": 0.1,
    }
    assert "dropout" not in again.names


@pytest.mark.parametrize(
    ("values", "field", "value"),
    [
        ({"depth": 3}, "fix", "depth"),
        ({"stem_c": 10}, "stem_c", 10),
        ({"resolution": 64}, "resolution", 64),
        ({"g1_k": 7}, "g1_k", 7),
        ({"optimizer": "adam"}, "optimizer", "adam"),
        ({"dropout": 0.9}, "dropout", 0.9),
    ],
)
def test_fix_rejects_unknown_dims_and_illegal_values(values: dict[str, Any], field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        preset("digits").fix(**values)
    assert info.value.field == field
    assert info.value.value == value
    assert str(info.value).startswith(f"{field}={value!r}")


def test_recipe_only_searches_the_recipe_only() -> None:
    arch = reference("mobilenet_v3_large", 160)
    space = preset("fbnetv3").recipe_only(arch)
    assert all(d.part == "recipe" for d in space.dims)
    assert space.names == tuple(n for n in preset("fbnetv3").names if n in RECIPE_FIELDS)
    assert space.arch_width == 0
    assert all(a == arch for a, _ in space.iter_candidates(space.sample(16, 0)))
    # fixes of recipe dimensions survive; those of architecture dimensions are dropped
    fixed = preset("digits").fix(resolution=16, ema=True).recipe_only(arch)
    assert fixed.fixed == (("ema", True),)
    assert "ema" not in fixed.names
    # and the architecture's own dims cannot be fixed afterwards
    with pytest.raises(ConfigError) as info:
        space.fix(resolution=224)
    assert (info.value.field, info.value.value) == ("fix", "resolution")


# --- serialization and fingerprint ---------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SPACES))
def test_dict_round_trip(key: str) -> None:
    space = SPACES[key]
    data = json.loads(json.dumps(space.to_dict()))
    back = JointSpace.from_dict(data)
    assert back == space
    assert back.names == space.names
    assert back.fingerprint() == space.fingerprint()
    assert back.distributions() == space.distributions()
    np.testing.assert_array_equal(back.sample(64, 1), space.sample(64, 1))


def test_fingerprint_is_stable_across_processes() -> None:
    code = "from optnas.space import preset, PRESETS\nprint(' '.join(preset(n).fingerprint() for n in sorted(PRESETS)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [preset(n).fingerprint() for n in PRESET_NAMES]
    assert preset("cifar").fingerprint() == preset("cifar").fingerprint()


def test_fingerprint_changes_with_the_space() -> None:
    base = preset("digits")
    variants = [
        base,
        base.override({"g1_c": IntRange(16, 40, 8)}),
        base.override({"lr": FloatRange(1e-3, 0.2, log=True)}),
        base.override({"lr": FloatRange(1e-3, 0.3, log=False)}),
        base.fix(ema=True),
        base.recipe_only(reference("mobilenet_v2", 32)),
        dataclasses.replace(base, name="digits2"),
        preset("cifar"),
    ]
    prints = [v.fingerprint() for v in variants]
    assert len(set(prints)) == len(prints)
    assert all(len(p) == 16 and int(p, 16) >= 0 for p in prints)


def test_from_dict_rejects_malformed_descriptions() -> None:
    data = preset("digits").to_dict()
    del data["groups"][0]["c"]
    with pytest.raises(ConfigError) as info:
        JointSpace.from_dict(data)
    assert info.value.field == "space"
    data = preset("digits").to_dict()
    data["resolution"] = {"ints": [8, 16, 4]}
    with pytest.raises(ConfigError) as info:
        JointSpace.from_dict(data)
    assert info.value.field == "resolution"
    data = preset("digits").to_dict()
    data["recipe"]["optimizer"] = {"choices": ["sgd", "lamb"]}
    with pytest.raises(ConfigError) as info:
        JointSpace.from_dict(data)
    assert (info.value.field, info.value.value) == ("optimizer", "lamb")


# --- override -------------------------------------------------------------------------------------


def test_override_replaces_ranges_by_parameter_name() -> None:
    base = preset("digits")
    space = base.override(
        {
            "g1_c": IntRange(16, 40, 8),
            "g2_k": Choice((3, 5, 7)),
            "resolution": IntRange(8, 32, 8),
            "head_c": IntRange(64, 128, 32),  # was fixed, now searched
            "lr": FloatRange(1e-4, 1e-1, log=True),
            "ema": Choice((True,)),  # was searched, now fixed
            "epochs": IntRange(3, 3),
        }
    )
    d = space.distributions()
    assert d["g1_c"] == IntDistribution(16, 40, step=8)
    assert d["g2_k"] == CategoricalDistribution((3, 5, 7))
    assert d["resolution"] == IntDistribution(8, 32, step=8)
    assert d["head_c"] == IntDistribution(64, 128, step=32)
    assert d["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert "ema" not in d and space.fixed_values()["ema"] is True
    assert space.fixed_values()["epochs"] == 3
    untouched = set(base.names) - {"g1_c", "g2_k", "resolution", "lr", "ema"}
    for name in untouched:
        assert d[name] == base.distributions()[name], name
    assert base.distributions()["g1_c"] == IntDistribution(16, 32, step=8)  # original unchanged
    for arch, recipe in space.iter_candidates(space.sample(64, 2)):
        assert recipe.ema is True and recipe.epochs == 3
        assert arch.stages[2].block.kernel in (3, 5, 7)


@pytest.mark.parametrize(
    ("ranges", "field", "value"),
    [
        ({"g9_c": IntRange(8, 16, 8)}, "space override", "g9_c"),
        ({"depth": IntRange(1, 2)}, "space override", "depth"),
        ({"lr": IntRange(1, 2)}, "lr", IntRange(1, 2)),
        ({"g1_k": IntRange(3, 5, 2)}, "g1_k", IntRange(3, 5, 2)),
        ({"g1_c": Choice((8, 16))}, "g1_c", Choice((8, 16))),
        ({"resolution": FloatRange(8.0, 16.0)}, "resolution", FloatRange(8.0, 16.0)),
    ],
)
def test_override_rejects_unknown_names_and_wrong_kinds(ranges: dict[str, Any], field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        preset("digits").override(ranges)
    assert (info.value.field, info.value.value) == (field, value)


# --- validation of ranges -------------------------------------------------------------------------


def _group(**kw: Any) -> GroupSpec:
    base: dict[str, Any] = dict(
        kernels=(3, 5), expansion=IntRange(2, 4), channels=IntRange(16, 32, 8), depth=IntRange(1, 2)
    )
    base.update(kw)
    return GroupSpec(**base)


def _space(**kw: Any) -> JointSpace:
    base: dict[str, Any] = dict(
        resolution=IntRange(16, 32, 8),
        stem_channels=IntRange(8, 16, 4),
        groups=(_group(), _group(stride=2, se="se")),
        head_channels=IntRange(64, 64),
    )
    base.update(kw)
    return JointSpace(**base)


@pytest.mark.parametrize(
    ("make", "field", "value", "reason"),
    [
        # min > max
        (lambda: _space(stem_channels=IntRange(16, 8, 4)), "stem_c", (16, 8), "min > max"),
        (lambda: _space(resolution=IntRange(32, 16, 8)), "resolution", (32, 16), "min > max"),
        (
            lambda: _space(groups=(_group(depth=IntRange(3, 1)),)),
            "g0_n",
            (3, 1),
            "min > max",
        ),
        (
            lambda: _space(recipe=RecipeSpec(dropout=FloatRange(0.3, 0.1))),
            "dropout",
            (0.3, 0.1),
            "min > max",
        ),
        # step not dividing the range
        (lambda: _space(stem_channels=IntRange(8, 16, 3)), "stem_c.step", 3, "does not divide"),
        (
            lambda: _space(groups=(_group(channels=IntRange(16, 30, 8)),)),
            "g0_c.step",
            8,
            "does not divide",
        ),
        (lambda: _space(head_channels=IntRange(64, 128, 0)), "head_c.step", 0, ">= 1"),
        # negative / zero channels
        (
            lambda: _space(groups=(_group(channels=IntRange(-8, 16, 8)),)),
            "g0_c",
            (-8, 16),
            ">= 1",
        ),
        (lambda: _space(stem_channels=IntRange(0, 8, 4)), "stem_c", (0, 8), ">= 1"),
        (lambda: _space(head_channels=IntRange(-64, -64)), "head_c", (-64, -64), ">= 1"),
        (
            lambda: _space(groups=(_group(expansion=IntRange(0, 4)),)),
            "g0_e",
            (0, 4),
            ">= 1",
        ),
        # unknown optimizer / activation / SE
        (
            lambda: _space(recipe=RecipeSpec(optimizer=Choice(("sgd", "adam")))),
            "optimizer",
            "adam",
            "unknown optimizer",
        ),
        (lambda: _space(groups=(_group(act="gelu"),)), "g0_act", "gelu", "unknown activation"),
        (lambda: _space(stem_act="tanh"), "stem.act", "tanh", "unknown activation"),
        (lambda: _space(head_act="elu"), "head.act", "elu", "unknown activation"),
        (lambda: _space(groups=(_group(se="cbam"),)), "g0_se", "cbam", "squeeze-excite"),
        (lambda: _space(groups=(_group(kernels=(3, 4)),)), "g0_k", 4, "odd"),
        (lambda: _space(groups=(_group(kernels=(3, 3)),)), "g0_k", (3, 3), "distinct"),
        (lambda: _space(groups=(_group(kernels=()),)), "g0_k", (), "at least one"),
        (lambda: _space(groups=(_group(stride=0),)), "g0_stride", 0, "positive"),
        # log range with 0
        (
            lambda: _space(recipe=RecipeSpec(lr=FloatRange(0.0, 0.1, log=True))),
            "lr",
            (0.0, 0.1),
            "log range",
        ),
        (
            lambda: _space(recipe=RecipeSpec(weight_decay=FloatRange(0.0, 1e-4, log=True))),
            "weight_decay",
            (0.0, 1e-4),
            "log range",
        ),
        (
            lambda: _space(recipe=RecipeSpec(lr=FloatRange(0.0, 0.1))),
            "lr",
            (0.0, 0.1),
            "> 0",
        ),
        # out-of-bounds recipe ranges
        (
            lambda: _space(recipe=RecipeSpec(momentum=FloatRange(0.9, 1.0))),
            "momentum",
            (0.9, 1.0),
            "<= 0.999",
        ),
        (
            lambda: _space(recipe=RecipeSpec(mixup_alpha=FloatRange(-0.1, 0.4))),
            "mixup_alpha",
            (-0.1, 0.4),
            ">= 0",
        ),
        (
            lambda: _space(recipe=RecipeSpec(label_smoothing=FloatRange(0.0, math.nan))),
            "label_smoothing",
            (0.0, math.nan),
            "finite",
        ),
        (
            lambda: _space(recipe=RecipeSpec(epochs=IntRange(0, 10))),
            "epochs",
            (0, 10),
            ">= 1",
        ),
        (
            lambda: _space(recipe=RecipeSpec(batch_size=Choice((64, 0)))),
            "batch_size",
            0,
            "positive",
        ),
        (
            lambda: _space(recipe=RecipeSpec(ema=Choice((True, "no")))),
            "ema",
            "no",
            "true/false",
        ),
        # structure
        (lambda: _space(groups=()), "groups", (), "at least one group"),
        (
            lambda: _space(resolution=IntRange(2, 34, 8)),
            "resolution",
            (2, 34),
            "total stride 4",
        ),
    ],
)
def test_invalid_spaces_name_field_and_value(make, field: str, value: object, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        make()
    exc = info.value
    assert exc.field == field
    if isinstance(value, tuple) and any(isinstance(v, float) and math.isnan(v) for v in value):
        assert repr(value) == repr(exc.value)
    else:
        assert exc.value == value
    assert str(exc).startswith(f"{field}={value!r}: ")
    assert reason in str(exc)


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError) as info:
        preset("imagenet")
    assert (info.value.field, info.value.value) == ("preset", "imagenet")
    assert "cifar" in str(info.value) and "digits" in str(info.value)


def test_unknown_reference() -> None:
    with pytest.raises(ConfigError) as info:
        reference("resnet50")
    assert (info.value.field, info.value.value) == ("arch", "resnet50")


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_have_their_name_and_are_fresh_equal_objects(name: str) -> None:
    a, b = preset(name), preset(name)
    assert a.name == name
    assert a == b
    assert a.fixed_arch is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [("x", "must be a number, got a string"), (True, "must be a number, got a boolean"),
     ([1], "must be a number, got a list"), (float("nan"), "must be a finite number")],
)
def test_fixing_a_numeric_dimension_to_a_non_number_is_a_config_error(value: object, reason: str) -> None:
    """Before: ``float(value)`` raised ValueError/TypeError, and ``True`` passed as 1.0."""
    with pytest.raises(ConfigError, match=re.escape(f"lr={value!r}: {reason}")):
        preset("digits").fix(lr=value)
