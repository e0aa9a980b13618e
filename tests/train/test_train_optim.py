"""Optimizers, the warm-up + cosine schedule, parameter groups and the EMA update."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from optnas.models import build
from optnas.space import Arch, Recipe
from optnas.train import RMSPROP_EPS, lr_factor, make_optimizer, make_scheduler, param_groups
from optnas.train._ema import ema_decay_at, make_ema


def test_lr_factor_values() -> None:
    # 4 warm-up steps, 12 total: 0.25, 0.5, 0.75, 1.0, then cosine over 8 steps
    assert [lr_factor(s, 4, 12) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 4, 12) == 1.0
    assert lr_factor(8, 4, 12) == pytest.approx(0.5)
    assert lr_factor(11, 4, 12) == pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 8)))
    assert lr_factor(0, 0, 10) == 1.0


def test_scheduler_steps_per_iteration(tiny_arch: Arch) -> None:
    model = build(tiny_arch, None, 10)
    recipe = Recipe(lr=0.2, epochs=3, warmup_epochs=1.0)
    opt = make_optimizer(model, recipe)
    sched = make_scheduler(opt, recipe, steps_per_epoch=5, epochs=3)
    lrs = []
    for _ in range(15):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.2 * lr_factor(s, 5, 15) for s in range(15)]
    assert lrs == pytest.approx(expected)
    assert max(lrs) == pytest.approx(0.2) and lrs[4] == pytest.approx(0.2)


def test_warmup_is_capped_by_the_budget(tiny_arch: Arch) -> None:
    model = build(tiny_arch, None, 10)
    recipe = Recipe(lr=0.1, epochs=1, warmup_epochs=5.0)
    opt = make_optimizer(model, recipe)
    sched = make_scheduler(opt, recipe, steps_per_epoch=4, epochs=1)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1])


def test_no_weight_decay_on_batchnorm_and_bias(tiny_arch: Arch) -> None:
    model = build(tiny_arch, None, 10)
    decay, no_decay = param_groups(model, 1e-4)
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    bn_and_bias = {id(m.weight) for m in model.modules() if isinstance(m, nn.BatchNorm2d)}
    bn_and_bias |= {id(p) for n, p in model.named_parameters() if n.endswith("bias")}
    weights = {id(m.weight) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)}
    assert {id(p) for p in no_decay["params"]} == bn_and_bias
    assert {id(p) for p in decay["params"]} == weights
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize(
    ("name", "cls", "checks"),
    [
        ("sgd", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
        ("rmsprop", torch.optim.RMSprop, {"momentum": 0.9, "alpha": 0.9, "eps": RMSPROP_EPS}),
        ("adamw", torch.optim.AdamW, {"betas": (0.9, 0.999)}),
    ],
)
def test_optimizer_types(tiny_arch: Arch, name: str, cls: type, checks: dict[str, object]) -> None:
    opt = make_optimizer(build(tiny_arch, None, 10), Recipe(optimizer=name, lr=0.07, weight_decay=3e-5))
    assert type(opt) is cls
    group = opt.param_groups[0]
    assert group["lr"] == 0.07 and group["weight_decay"] == 3e-5 and opt.param_groups[1]["weight_decay"] == 0.0
    for key, value in checks.items():
        assert group[key] == value


def test_sgd_without_momentum_is_plain(tiny_arch: Arch) -> None:
    opt = make_optimizer(build(tiny_arch, None, 10), Recipe(optimizer="sgd", momentum=0.0))
    assert opt.param_groups[0]["nesterov"] is False


def test_rmsprop_eps_matches_tensorflow_inside_sqrt() -> None:
    assert math.isclose(RMSPROP_EPS, math.sqrt(1e-3))
    assert abs(RMSPROP_EPS - 0.0316) < 1e-4


def test_ema_decay_warmup() -> None:
    assert [ema_decay_at(0.99, t) for t in (0, 1, 10, 1000)] == pytest.approx([0.1, 2 / 11, 11 / 20, 0.99])


def test_ema_update_follows_the_formula() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = make_ema(model, 0.5)
    ema.update_parameters(model)  # first update copies
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
        model[1].running_mean.add_(2.0)
        model[1].num_batches_tracked.add_(3)
    ema.update_parameters(model)  # second update: decay min(0.5, 2/11) = 2/11
    d = 2 / 11
    assert torch.allclose(ema.module[0].weight, d * start + (1 - d) * (start + 1.0))
    assert torch.allclose(ema.module[1].running_mean, torch.full((2,), (1 - d) * 2.0))
    assert int(ema.module[1].num_batches_tracked) == 3


def test_batchnorm_warmup_averages_then_restores_momentum() -> None:
    from optnas.train._bn import BatchNormWarmup

    bn = nn.BatchNorm2d(2, momentum=0.25)  # warm-up of round(1 / 0.25) = 4 steps
    model = nn.Sequential(bn)
    warm = BatchNormWarmup(model)
    assert warm.steps == 4 and bn.momentum is None
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(8, 2, 3, 3, generator=gen) * (i + 1) + i for i in range(6)]
    means = []
    for i, x in enumerate(batches):
        warm.step()
        model(x)
        means.append(x.mean(dim=(0, 2, 3)))
        if i < 4:
            # cumulative average of the batch means: the initial zeros are gone from step 1
            assert bn.momentum is None
            assert torch.allclose(bn.running_mean, torch.stack(means).mean(0), atol=1e-6)
    assert bn.momentum == 0.25 and not warm.active
    expected = torch.stack(means[:4]).mean(0)
    for m in means[4:]:  # then the moving average with the layer's own momentum
        expected = 0.75 * expected + 0.25 * m
    assert torch.allclose(bn.running_mean, expected, atol=1e-6)
