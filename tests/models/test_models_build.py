"""``optnas.models.build``: torchvision blocks, seeded initialization, recipe knobs, residuals."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torchvision
from torch import nn
from torchvision.ops import Conv2dNormActivation, SqueezeExcitation, StochasticDepth

from optnas import ConfigError
from optnas.models import MBConv, Network, build, se_squeeze_channels
from optnas.space import PRESETS, Arch, Recipe, make_divisible, preset, reference

SMALL = Arch.parse(
    "res16 stem_k3_s1_c8_hs ir_k3_e1_c8_n2_re ir_k5_e3_c16_s2_n3_se_hs "
    "ir_k3_x40_c16_seeff_sw ir_k3_e2.5_c24_s2_n2_r6 head_c48_fc32_hs"
)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _blocks(model: Network) -> list[MBConv]:
    return [m for m in model.features if isinstance(m, MBConv)]


# --- determinism and RNG -------------------------------------------------------------------------


def test_same_seed_gives_identical_weights_and_different_seeds_differ() -> None:
    a, b, c = build(SMALL, seed=3), build(SMALL, seed=3), build(SMALL, seed=4)
    sa, sb, sc = _state(a), _state(b), _state(c)
    assert list(sa) == list(sb)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    weights = [k for k in sa if k.endswith("weight") and sa[k].dim() > 1]
    assert len(weights) > 10
    assert all(not torch.equal(sa[k], sc[k]) for k in weights)


def test_generator_argument_equals_the_seed() -> None:
    g = torch.Generator().manual_seed(11)
    a, b = _state(build(SMALL, generator=g)), _state(build(SMALL, seed=11))
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the generator is consumed: a second build from it gives new weights
    c = _state(build(SMALL, generator=g))
    assert not torch.equal(a["features.0.0.weight"], c["features.0.0.weight"])


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_build_does_not_touch_torch_global_rng(device: str) -> None:
    before = torch.random.get_rng_state()
    build(SMALL, Recipe(dropout=0.3, stochastic_depth=0.2), seed=5, device=device)
    build(reference("mobilenet_v3_large", 32), device=device)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_initialization_follows_the_documented_scheme() -> None:
    model = build(reference("mobilenet_v2", 32), num_classes=1000, seed=0)
    conv = model.features[18][0]  # 320 -> 1280 1x1 head conv: fan_out = 1280
    std = conv.weight.std().item()
    assert std == pytest.approx((2.0 / 1280) ** 0.5, rel=0.02)
    linear = model.classifier[-1]
    assert linear.weight.std().item() == pytest.approx(0.01, rel=0.02)
    assert abs(linear.weight.mean().item()) < 1e-3
    assert torch.count_nonzero(linear.bias) == 0
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert torch.count_nonzero(m.bias) == 0
            assert torch.count_nonzero(m.running_mean) == 0
            assert torch.equal(m.running_var, torch.ones_like(m.running_var))


def test_meta_build_is_shape_only() -> None:
    model = build(reference("efficientnet_b0"), device="meta")
    assert all(p.device.type == "meta" for p in model.parameters())
    cpu = build(reference("efficientnet_b0", 32), device="cpu")
    assert [p.shape for p in model.parameters()] == [p.shape for p in cpu.parameters()]


# --- forward --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_forward_shape_on_cpu(name: str) -> None:
    space = preset(name)
    if name == "fbnetv3":  # paper-scale widths at a small input keep the test fast
        space = space.fix(resolution=224)
    for i, (arch, recipe) in enumerate(space.iter_candidates(space.sample(2, 17))):
        small = arch.replace_resolution(32) if name == "fbnetv3" else arch
        num_classes = (10, 7)[i]
        model = build(small, recipe, num_classes=num_classes, seed=i)
        x = torch.randn(3, 3, small.resolution, small.resolution, generator=torch.Generator())
        for train in (True, False):
            model.train(train)
            with torch.no_grad():
                out = model(x)
            assert out.shape == (3, num_classes)
            assert torch.isfinite(out).all()


def test_eval_forward_is_deterministic_and_gradients_flow() -> None:
    model = build(SMALL, Recipe(dropout=0.5, stochastic_depth=0.3), num_classes=5, seed=0).eval()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    model.train()
    loss = model(x).square().sum()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("mobilenet_v2", {"dropout": 0.0}),
        ("mobilenet_v3_large", {"dropout": 0.0}),
        ("efficientnet_b0", {"dropout": 0.0, "stochastic_depth_prob": 0.0}),
    ],
)
def test_references_compute_the_same_function_as_torchvision(name: str, kwargs: dict[str, Any]) -> None:
    """Same layers in the same order: torchvision's model loaded with our weights (by position)
    gives our outputs. torchvision's MobileNetV3 uses BatchNorm eps=1e-3 where optnas uses
    PyTorch's default 1e-5; that constant is aligned before comparing."""
    ours = build(reference(name), Recipe(dropout=0.0, stochastic_depth=0.0), num_classes=10, seed=1)
    with torch.device("meta"):
        theirs = getattr(torchvision.models, name)(num_classes=10, **kwargs)
    theirs = theirs.to_empty(device="cpu")
    our_state = list(ours.state_dict().values())
    their_keys = list(theirs.state_dict())
    assert len(our_state) == len(their_keys)
    theirs.load_state_dict(dict(zip(their_keys, our_state, strict=True)))
    for m in theirs.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = 1e-5
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    ours.train()
    theirs.train()  # batch statistics keep the activations O(1)
    with torch.no_grad():
        expected = theirs(x)
        got = ours(x)
    assert expected.abs().max() > 1e-2
    torch.testing.assert_close(got, expected)


# --- recipe knobs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("dropout", "sd"), [(0.0, 0.0), (0.25, 0.0), (0.1, 0.2), (0.3, 0.15)])
def test_dropout_and_stochastic_depth_follow_the_recipe(dropout: float, sd: float) -> None:
    model = build(SMALL, Recipe(dropout=dropout, stochastic_depth=sd), num_classes=4)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 1
    assert drops[0].p == dropout
    assert model.classifier[-2] is drops[0]  # right before the classifier
    blocks = _blocks(model)
    n = len(blocks)
    assert n == len(SMALL.blocks) == 8
    for i, (block, spec) in enumerate(zip(blocks, SMALL.blocks, strict=True)):
        rate = sd * i / n
        if spec.residual and rate > 0:
            assert isinstance(block.drop_path, StochasticDepth)
            assert block.drop_path.p == pytest.approx(rate)
            assert block.drop_path.mode == "row"
        else:
            assert block.drop_path is None
    n_sd = sum(isinstance(m, StochasticDepth) for m in model.modules())
    expected = sum(1 for i, s in enumerate(SMALL.blocks) if s.residual and sd * i / n > 0)
    assert n_sd == expected
    assert (n_sd > 0) == (sd > 0)


def test_default_recipe_is_used_when_none() -> None:
    model = build(SMALL, None, num_classes=3)
    dropout = next(m for m in model.modules() if isinstance(m, nn.Dropout))
    assert dropout.p == Recipe().dropout
    assert not any(isinstance(m, StochasticDepth) for m in model.modules())  # default sd = 0


def test_stochastic_depth_drops_whole_residual_branches_in_training() -> None:
    arch = Arch.parse("res8 stem_k3_s1_c8_re ir_k3_e2_c8_n3_re head_c8_re")
    model = build(arch, Recipe(stochastic_depth=0.9), num_classes=2)
    last = _blocks(model)[-1]
    assert last.drop_path is not None and last.drop_path.p == pytest.approx(0.6)
    x = torch.randn(64, 8, 8, 8, generator=torch.Generator().manual_seed(0))
    last.train()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)  # StochasticDepth draws from torch's global generator
        out = last(x)
    dropped = [(out[i] - x[i]).abs().max().item() == 0.0 for i in range(64)]
    assert 0 < sum(dropped) < 64  # some rows keep only the identity, others the branch too
    last.eval()
    with torch.no_grad():
        assert not torch.equal(last(x), x)


# --- structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", [SMALL, reference("mobilenet_v2"), reference("efficientnet_b0")])
def test_residual_only_when_stride_one_and_equal_widths(arch: Arch) -> None:
    model = build(arch, device="meta")
    blocks = _blocks(model)
    assert len(blocks) == len(arch.blocks)
    flags = [b.residual for b in blocks]
    assert flags == [s.stride == 1 and s.in_channels == s.out_channels for s in arch.blocks]
    assert any(flags) and not all(flags)


def test_residual_blocks_add_their_input() -> None:
    # Zeroing the projection's BatchNorm makes the branch output 0: a residual block then
    # returns its input, any other block returns zeros.
    model = build(SMALL, Recipe(stochastic_depth=0.2), num_classes=3).eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 16, 16, generator=gen)
    seen = {True: 0, False: 0}
    for block, spec in zip(_blocks(model), SMALL.blocks, strict=True):
        bn = block.block[-1][1]
        assert isinstance(bn, nn.BatchNorm2d)
        with torch.no_grad():
            bn.weight.zero_()
            bn.bias.zero_()
            y = block(x)
        assert y.shape[1] == spec.out_channels
        if spec.residual:
            assert torch.equal(y, x)
        else:
            assert torch.count_nonzero(y) == 0
        seen[spec.residual] += 1
        x = torch.randn(2, spec.out_channels, y.shape[2], y.shape[3], generator=gen)
    assert seen == {True: 6, False: 2}


def test_blocks_are_torchvision_modules_with_the_spec_widths() -> None:
    model = build(SMALL, device="meta")
    acts = {"re": nn.ReLU, "r6": nn.ReLU6, "hs": nn.Hardswish, "sw": nn.SiLU}
    stem = model.features[0]
    assert isinstance(stem, Conv2dNormActivation)
    assert isinstance(stem[2], nn.Hardswish)
    for block, spec in zip(_blocks(model), SMALL.blocks, strict=True):
        layers = list(block.block)
        assert all(isinstance(m, Conv2dNormActivation | SqueezeExcitation) for m in layers)
        convs = [m[0] for m in layers if isinstance(m, Conv2dNormActivation)]
        has_expand = spec.expanded != spec.in_channels
        assert len(convs) == 3 if has_expand else 2
        dw = convs[-2]
        assert (dw.in_channels, dw.out_channels, dw.groups) == (spec.expanded,) * 3
        assert dw.kernel_size == (spec.kernel, spec.kernel)
        assert dw.stride == (spec.stride, spec.stride)
        assert dw.padding == ((spec.kernel - 1) // 2,) * 2
        assert convs[-1].out_channels == spec.out_channels
        assert convs[0].in_channels == spec.in_channels
        assert isinstance(layers[-2 if spec.se is None else -3][2], acts[spec.act])
        assert len(layers[-1]) == 2  # linear projection: conv + BN, no activation
        ses = [m for m in layers if isinstance(m, SqueezeExcitation)]
        if spec.se is None:
            assert not ses
            assert se_squeeze_channels(spec) == 0
            continue
        (se,) = ses
        assert layers[-2] is se  # after the depthwise conv, before the projection
        if spec.se == "se":
            squeeze = make_divisible(spec.expanded // 4, 8)
            assert isinstance(se.scale_activation, nn.Hardsigmoid)
            assert isinstance(se.activation, nn.ReLU)
        else:
            squeeze = max(1, spec.in_channels // 4)
            assert isinstance(se.scale_activation, nn.Sigmoid)
            assert isinstance(se.activation, nn.SiLU)
        assert se_squeeze_channels(spec) == squeeze
        assert (se.fc1.in_channels, se.fc1.out_channels) == (spec.expanded, squeeze)
    head = model.features[-1]
    assert isinstance(head, Conv2dNormActivation)
    assert head[0].out_channels == 48
    assert isinstance(model.classifier[0], nn.Linear) and model.classifier[0].out_features == 32
    assert isinstance(model.classifier[1], nn.Hardswish)


@pytest.mark.parametrize("num_classes", [0, -3, 2.5, True, "10"])
def test_invalid_num_classes(num_classes: Any) -> None:
    with pytest.raises(ConfigError) as info:
        build(SMALL, num_classes=num_classes)
    assert info.value.field == "num_classes"
    assert info.value.value == num_classes
