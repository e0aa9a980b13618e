"""The analytic cost model equals FlopCounterMode and the parameter count of the built model.

Every model is built on the meta device (shapes only), so the counts are checked at full
resolution without allocating or computing anything.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from optnas.cost import Cost, PoolCost, count, count_columns
from optnas.models import Network, build
from optnas.space import (
    ACTIVATIONS,
    PRESETS,
    Arch,
    Block,
    Choice,
    GroupSpec,
    Head,
    IntRange,
    JointSpace,
    Stage,
    Stem,
    preset,
    reference,
)

# torchvision's published numbers (DESIGN.md; MACs as FlopCounterMode counts them / 2)
TORCHVISION = {
    "mobilenet_v2": (300_774_272, 3_504_872),
    "mobilenet_v3_large": (216_589_760, 5_483_032),
    "efficientnet_b0": (385_814_752, 5_288_548),
}


def measure(model: torch.nn.Module, resolution: int) -> tuple[int, int]:
    """(MACs, params) of ``model`` as FlopCounterMode and ``numel`` see them.

    The input goes on the model's device: "meta" for shape-only models (large ones), "cpu"
    for small ones, whose real forward costs less than the meta device's per-operator overhead.
    """
    model.eval()
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, resolution, resolution, device=device)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2, sum(p.numel() for p in model.parameters())


def measure_arch(arch: Arch, num_classes: int, device: str = "meta") -> tuple[int, int]:
    return measure(build(arch, num_classes=num_classes, device=device), arch.resolution)


Cache = dict[tuple[str, tuple[int, ...]], tuple[int, torch.Tensor]]


def measure_by_module(model: Network, resolution: int, cache: Cache) -> tuple[int, int]:
    """:func:`measure`, one top-level module at a time, reusing the FLOPs of modules already
    seen with the same configuration (``repr``) and input shape.

    FlopCounterMode sums per operator, so the total over the modules that
    ``Network.forward`` chains (features, pool, flatten, classifier) is the model's total; it
    is asserted against :func:`measure` on the first candidates of every pool. Meta-device
    forwards cost a few ms per operator, and the repeated blocks of a stage are identical,
    which makes this several times faster on the large fbnetv3 candidates.
    """
    model.eval()
    x = torch.empty(1, 3, resolution, resolution, device="meta")
    total = 0
    for module in [*model.features, model.pool, torch.nn.Flatten(), model.classifier]:
        key = (repr(module), tuple(x.shape))
        if key not in cache:
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                y = module(x)
            cache[key] = (counter.get_total_flops(), y)
        flops, x = cache[key]
        total += flops
    assert total % 2 == 0
    return total // 2, sum(p.numel() for p in model.parameters())


def random_arch(rng: np.random.Generator) -> Arch:
    """An arbitrary architecture over every grammar feature (explicit widths, both SE kinds,
    all activations, hidden fc, odd kernels 1..7, strides 1..2)."""
    acts = sorted(ACTIVATIONS)

    def act() -> str:
        return acts[int(rng.integers(len(acts)))]

    stem = Stem(int(rng.integers(1, 33)), int(rng.choice([1, 3, 5])), int(rng.integers(1, 3)), act())
    stages = []
    for _ in range(int(rng.integers(1, 6))):
        explicit = bool(rng.random() < 0.3)
        block = Block(
            kernel=int(rng.choice([1, 3, 5, 7])),
            out_channels=int(rng.integers(1, 49)),
            stride=int(rng.integers(1, 3)),
            expansion=None if explicit else float(rng.choice([1.0, 0.5, 1.75, 2.5, 4.0, 6.0])),
            expanded=int(rng.integers(1, 97)) if explicit else None,
            se=(None, "se", "seeff")[int(rng.integers(3))],
            act=act(),
        )
        stages.append(Stage(block, int(rng.integers(1, 4))))
    total_stride = stem.stride * math.prod(s.block.stride for s in stages)
    resolution = int(rng.integers(total_stride, max(total_stride, 40) + 1))
    fc = int(rng.integers(1, 65)) if rng.random() < 0.5 else None
    return Arch(resolution, stem, tuple(stages), Head(int(rng.integers(1, 65)), fc, act()))


# --- references ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_references(name: str) -> None:
    macs, params = TORCHVISION[name]
    arch = reference(name)
    assert arch.resolution == 224
    cost = count(arch, num_classes=1000)
    assert (cost.macs, cost.params) == (macs, params)
    assert measure_arch(arch, 1000) == (macs, params)
    with torch.device("meta"):
        tv_model = getattr(torchvision.models, name)()
    assert measure(tv_model, 224) == (macs, params)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_references_at_other_resolutions_and_widths(name: str) -> None:
    arch = reference(name, 160)
    cost = count(arch, num_classes=10)
    assert (cost.macs, cost.params) == measure_arch(arch, 10)
    with torch.device("meta"):
        tv_model = getattr(torchvision.models, name)(num_classes=10)
    assert measure(tv_model, 160) == (cost.macs, cost.params)


def test_fbnetv3_a_reference_is_exact() -> None:
    arch = reference("fbnetv3_a")
    cost = count(arch)
    assert (cost.macs, cost.params) == measure_arch(arch, 1000)


# --- random architectures ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_archs_exact(name: str) -> None:
    """50 candidates per preset; num_classes alternates between 10 and 1000.

    The small presets run the real CPU model; fbnetv3 (224-272 px, up to ~45 blocks) uses
    shape-only meta models measured module by module (checked against the whole-model count on
    the first candidates).
    """
    space = preset(name)
    cols = space.sample(50, 1234)
    pools = {nc: count_columns(space, cols, nc) for nc in (10, 1000)}
    large = name == "fbnetv3"
    cache: Cache = {}
    for i, (arch, recipe) in enumerate(space.iter_candidates(cols)):
        nc = 10 if i % 2 == 0 else 1000
        if not large:
            expected = measure(build(arch, recipe, num_classes=nc, seed=i), arch.resolution)
        elif i < 3:  # whole model, with the candidate's own recipe
            model = build(arch, recipe, num_classes=nc, device="meta")
            expected = measure(model, arch.resolution)
            assert measure_by_module(model, arch.resolution, cache) == expected
        else:  # drop-path rates differ per candidate but carry no FLOPs or parameters
            plain = dataclasses.replace(recipe, stochastic_depth=0.0)
            model = build(arch, plain, num_classes=nc, device="meta")
            expected = measure_by_module(model, arch.resolution, cache)
        cost = count(arch, num_classes=nc)
        assert (cost.macs, cost.params) == expected, str(arch)
        assert (int(pools[nc].macs[i]), int(pools[nc].params[i])) == expected, str(arch)


def test_random_archs_exact() -> None:
    rng = np.random.default_rng(99)
    for i in range(25):
        arch = random_arch(rng)
        nc = (10, 1000, 1, 37)[i % 4]
        cost = count(arch, num_classes=nc)
        assert (cost.macs, cost.params) == measure_arch(arch, nc, device="cpu"), str(arch)


def test_hand_computed_tiny_arch() -> None:
    arch = Arch.parse("res8 stem_k3_s1_c8_re ir_k3_e1_c8_re head_c16_re")
    # stem 3->8 k3: 8*8*8*27 MACs, 8*27 + 2*8 params; depthwise k3 (no expansion for e1):
    # 8*8*8*9, 8*9 + 16; projection 8->8: 8*8*64, 64 + 16; head 8->16: 8*8*128, 128 + 32;
    # classifier 16->10: 160 MACs, 170 params.
    cost = count(arch, num_classes=10)
    assert cost.macs == 13824 + 4608 + 4096 + 8192 + 160 == 30880
    assert cost.params == 232 + 88 + 80 + 160 + 170 == 730
    assert measure_arch(arch, 10) == measure_arch(arch, 10, "cpu") == (30880, 730)


# --- vectorized pools ----------------------------------------------------------------------------


def _custom_space() -> JointSpace:
    """Exercises the vectorized branches the presets do not: seeff SE, hidden fc, stem k5."""
    return JointSpace(
        name="custom",
        resolution=IntRange(17, 41, 4),
        stem_channels=IntRange(4, 12, 4),
        stem_kernel=5,
        stem_stride=2,
        stem_act="sw",
        groups=(
            GroupSpec((1, 3), IntRange(1, 3), IntRange(4, 12, 4), IntRange(1, 3), 1, "seeff", "sw"),
            GroupSpec((3, 5, 7), IntRange(1, 6), IntRange(8, 24, 8), IntRange(1, 4), 2, "se", "r6"),
            GroupSpec((3,), IntRange(2, 2), IntRange(16, 16), IntRange(1, 2), 2, None, "re"),
        ),
        head_channels=IntRange(32, 96, 32),
        head_fc=48,
        head_act="hs",
    )


SPACES = {name: preset(name) for name in sorted(PRESETS)}
SPACES["custom"] = _custom_space()
SPACES["digits.fix"] = preset("digits").fix(resolution=12, g1_k=5, g2_e=3, head_c=64)
SPACES["fbnetv3.override"] = preset("fbnetv3").override({"head_c": IntRange(1536, 1984, 64), "g6_k": Choice((3, 5, 7))})


@pytest.mark.parametrize("key", sorted(SPACES))
def test_count_columns_equals_count(key: str) -> None:
    space = SPACES[key]
    cols = space.sample(300, 5)
    archs = [a for a, _ in space.iter_candidates(cols)]
    for nc in (10, 1000):
        pool = count_columns(space, cols, nc)
        assert isinstance(pool, PoolCost)
        assert pool.macs.shape == pool.params.shape == (300,)
        assert pool.macs.dtype == pool.params.dtype == np.int64
        expected = np.array([[c.macs, c.params] for c in (count(a, nc) for a in archs)])
        np.testing.assert_array_equal(pool.macs, expected[:, 0])
        np.testing.assert_array_equal(pool.params, expected[:, 1])
        assert len(np.unique(pool.macs)) > 50  # the pool is not degenerate


def test_custom_space_candidates_are_exact() -> None:
    space = SPACES["custom"]
    cols = space.sample(10, 8)
    pool = count_columns(space, cols, 7)
    for i, (arch, _) in enumerate(space.iter_candidates(cols)):
        assert (int(pool.macs[i]), int(pool.params[i])) == measure_arch(arch, 7, "cpu"), str(arch)


def test_count_columns_on_fixed_arch_space() -> None:
    arch = reference("efficientnet_b0", 96)
    space = preset("cifar").recipe_only(arch)
    cols = space.sample(32, 0)
    pool = count_columns(space, cols, 10)
    expected = count(arch, 10)
    np.testing.assert_array_equal(pool.macs, np.full(32, expected.macs))
    np.testing.assert_array_equal(pool.params, np.full(32, expected.params))
    assert pool.macs.dtype == np.int64


def test_count_columns_of_an_empty_pool() -> None:
    space = preset("digits")
    pool = count_columns(space, np.zeros((0, len(space.names))), 10)
    assert pool.macs.shape == pool.params.shape == (0,)


# --- scalar API ----------------------------------------------------------------------------------


def test_resolution_argument_equals_a_resized_arch() -> None:
    arch = reference("mobilenet_v3_large")
    for res in (32, 96, 225, 320):
        assert count(arch, 1000, resolution=res) == count(arch.replace_resolution(res), 1000)
    assert count(arch, 1000, resolution=160).resolution == 160


def test_cost_fields_and_dict() -> None:
    cost = count(reference("mobilenet_v2"))
    assert isinstance(cost, Cost)
    assert (cost.resolution, cost.num_classes) == (224, 1000)
    assert cost.mflops == pytest.approx(300.774272)
    assert cost.mparams == pytest.approx(3.504872)
    assert cost.to_dict() == {
        "macs": 300_774_272,
        "params": 3_504_872,
        "mflops": cost.mflops,
        "mparams": cost.mparams,
        "resolution": 224,
        "num_classes": 1000,
    }
    assert isinstance(cost.macs, int) and isinstance(cost.params, int)


def test_params_do_not_depend_on_resolution_and_macs_grow_with_it() -> None:
    arch = reference("fbnetv3_a")
    costs = [count(arch, resolution=r) for r in (160, 192, 224, 256)]
    assert len({c.params for c in costs}) == 1
    assert [c.macs for c in costs] == sorted({c.macs for c in costs})
