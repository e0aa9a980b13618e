"""torchvision classifiers as fixed AutoTrain architectures: build, recipe knobs, counts, training."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import get_model_weights

from optnas import ConfigError
from optnas.cost import count, infer_num_classes
from optnas.data import load
from optnas.models import build
from optnas.space import TORCHVISION_MODELS, Recipe, TorchvisionArch
from optnas.train import train_and_evaluate

MODELS = sorted(TORCHVISION_MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_counts_equal_torchvisions_published_metadata(model: str) -> None:
    # The weights' metadata (no download): params and GMACs ("_ops") at the weights' evaluation
    # crop (224 px, 240 for EfficientNet-B1), 1000 classes.
    weights = get_model_weights(model).DEFAULT
    meta = weights.meta
    cost = count(TorchvisionArch(model, weights.transforms().crop_size[0]))
    assert cost.params == meta["num_params"]
    assert round(cost.macs / 1e9, 3) == pytest.approx(meta["_ops"], abs=1e-3)
    # torchvision's own unmodified model, counted on the meta device.
    with torch.device("meta"):
        reference = getattr(torchvision.models, model)(weights=None)
    assert cost.params == sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize("model", MODELS)
def test_small_stem_keeps_more_resolution_and_counts_exactly(model: str) -> None:
    arch = TorchvisionArch(model, 32, True)
    net = build(arch, Recipe(dropout=0.0, stochastic_depth=0.0), 10, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        out = net(torch.empty(2, 3, 32, 32, device="meta"))
    assert out.shape == (2, 10)
    cost = count(arch, 10)
    assert cost.macs * 2 * 2 == counter.get_total_flops()  # batch of 2
    assert cost.params == sum(p.numel() for p in net.parameters())
    # The stride-1 stem multiplies the work (by up to the squared stride it removed).
    plain = count(TorchvisionArch(model, 32), 10)
    assert cost.macs > 2 * plain.macs
    assert infer_num_classes(arch, cost.params) == 10


def test_small_stems_follow_each_familys_cifar_variant() -> None:
    resnet = build(TorchvisionArch("resnet18", 32, True), None, 10, device="meta")
    assert isinstance(resnet.get_submodule("maxpool"), nn.Identity)
    conv1 = resnet.get_submodule("conv1")
    assert isinstance(conv1, nn.Conv2d) and (conv1.kernel_size, conv1.stride) == ((3, 3), (1, 1))
    for model in ("mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0"):
        net = build(TorchvisionArch(model, 32, True), Recipe(stochastic_depth=0.0), 10, device="meta")
        stem = net.get_submodule("features.0.0")
        assert isinstance(stem, nn.Conv2d) and stem.stride == (1, 1)
        plain = build(TorchvisionArch(model, 32), Recipe(stochastic_depth=0.0), 10, device="meta")
        assert plain.get_submodule("features.0.0").stride == (2, 2)


def test_recipe_dropout_and_stochastic_depth_reach_the_network() -> None:
    resnet = build(TorchvisionArch("resnet18", 32, True), Recipe(dropout=0.25, stochastic_depth=0.0), 10)
    fc = resnet.get_submodule("fc")
    assert isinstance(fc, nn.Sequential) and isinstance(fc[0], nn.Dropout) and fc[0].p == 0.25
    mb = build(TorchvisionArch("mobilenet_v3_small", 32, True), Recipe(dropout=0.3, stochastic_depth=0.0), 10)
    assert [m.p for m in mb.modules() if isinstance(m, nn.Dropout)] == [0.3]
    eff = build(TorchvisionArch("efficientnet_b0", 32, True), Recipe(dropout=0.2, stochastic_depth=0.15), 10)
    probs = [m.p for m in eff.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert len(probs) == 16 and max(probs) == pytest.approx(0.15 * 15 / 16)  # torchvision's linear rule
    with pytest.raises(ConfigError) as err:
        build(TorchvisionArch("resnet18", 32, True), Recipe(stochastic_depth=0.1), 10)
    assert (err.value.field, err.value.value) == ("stochastic_depth", 0.1)


def test_seeded_init_is_exact_and_leaves_the_global_rng_alone() -> None:
    arch = TorchvisionArch("mobilenet_v3_small", 16, True)
    before = torch.random.get_rng_state()
    a, b, c = (build(arch, Recipe(stochastic_depth=0.0), 10, seed=s) for s in (5, 5, 6))
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    weights = [k for k in sa if k.endswith("weight") and sa[k].dim() > 1]
    assert not any(torch.equal(sa[k], sc[k]) for k in weights)
    # He-normal (fan-out) convolutions: the empirical std of a large layer matches the formula.
    conv = max((m for m in a.modules() if isinstance(m, nn.Conv2d)), key=lambda m: m.weight.numel())
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1] // conv.groups
    assert float(conv.weight.detach().std()) == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.1)


def test_trains_on_digits_deterministically() -> None:
    data = load("digits", subset=400)
    arch = TorchvisionArch("mobilenet_v3_small", 16, True)
    recipe = Recipe(epochs=2, stochastic_depth=0.0, lr=0.05, batch_size=64)
    first = train_and_evaluate(arch, recipe, data, seed=1, num_threads=1)
    again = train_and_evaluate(arch, recipe, data, seed=1, num_threads=1)
    assert first.curve == again.curve and len(first.curve) == 2
    assert first.cost == count(arch, 10)
    assert not first.diverged
