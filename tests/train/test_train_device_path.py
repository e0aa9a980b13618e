"""The accelerator path of train_and_evaluate, tested on CPU: workers, bf16/fp16, channels_last, EMA."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from optnas import ConfigError
from optnas.data import ImageData
from optnas.space import Arch, Recipe
from optnas.train import PRECISIONS, TrainResult, train_and_evaluate
from optnas.train._ema import _warmup_ema, make_ema
from optnas.train._trainer import _mixup_plan


def _run(arch: Arch, recipe: Recipe, data: ImageData, **kw: object) -> TrainResult:
    kw.setdefault("num_threads", 1)
    return train_and_evaluate(arch, recipe, data, **kw)  # type: ignore[arg-type]


@pytest.fixture
def full_recipe(recipe: Recipe) -> Recipe:
    """Every random stream in use: augmentation, mixup, dropout, drop-path, EMA."""
    return dataclasses.replace(recipe, mixup_alpha=0.3, dropout=0.2, stochastic_depth=0.1, ema=True, ema_decay=0.9)


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_reproduce_the_in_process_run(
    tiny_arch: Arch, full_recipe: Recipe, small_digits: ImageData, workers: int
) -> None:
    plain = _run(tiny_arch, full_recipe, small_digits, epochs=2, seed=5)
    parallel = _run(tiny_arch, full_recipe, small_digits, epochs=2, seed=5, num_workers=workers)
    assert parallel.train_loss == plain.train_loss  # first-epoch loss included, bit for bit
    assert parallel.curve == plain.curve and parallel.accuracy == plain.accuracy


def test_bf16_trains_on_cpu_deterministically(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    a = _run(tiny_arch, recipe, small_digits, precision="bf16")
    b = _run(tiny_arch, recipe, small_digits, precision="bf16")
    fp32 = _run(tiny_arch, recipe, small_digits)
    assert a.train_loss == b.train_loss and a.curve == b.curve
    assert a.train_loss != fp32.train_loss  # it really ran in bfloat16
    assert all(np.isfinite(a.train_loss)) and a.train_loss[-1] < a.train_loss[0]
    assert a.accuracy > 0.5, a.curve  # chance is 0.1; fp32 reaches ~0.9


def test_bf16_with_workers_mixup_and_ema(tiny_arch: Arch, full_recipe: Recipe, small_digits: ImageData) -> None:
    a = _run(tiny_arch, full_recipe, small_digits, epochs=2, precision="bf16")
    b = _run(tiny_arch, full_recipe, small_digits, epochs=2, precision="bf16", num_workers=1)
    assert a.train_loss == b.train_loss and a.curve == b.curve and all(np.isfinite(a.train_loss))


def test_fp16_uses_a_gradient_scaler_and_trains(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    r = _run(tiny_arch, recipe, small_digits, epochs=2, precision="fp16")
    assert r.epochs == 2 and not r.diverged and all(np.isfinite(r.train_loss))
    assert r.accuracy > 0.3, r.curve


def test_channels_last_trains_to_a_similar_result(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    fp32 = _run(tiny_arch, recipe, small_digits)
    cl = _run(tiny_arch, recipe, small_digits, channels_last=True)
    # same values in another memory layout: kernels may sum in another order, nothing more
    assert np.allclose(cl.train_loss, fp32.train_loss, rtol=0.05)
    assert cl.accuracy > 0.5


def test_defaults_are_plain_fp32(tiny_arch: Arch, recipe: Recipe, small_digits: ImageData) -> None:
    a = _run(tiny_arch, recipe, small_digits, epochs=1)
    b = _run(tiny_arch, recipe, small_digits, epochs=1, precision="fp32", num_workers=0, channels_last=False)
    assert a.train_loss == b.train_loss and a.curve == b.curve
    assert PRECISIONS == ("fp32", "bf16", "fp16")


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("precision", {"precision": "fp8"}),
        ("num_workers", {"num_workers": -1}),
        ("num_workers", {"num_workers": True}),
        ("channels_last", {"channels_last": "yes"}),
    ],
)
def test_bad_device_options_name_the_field(
    tiny_arch: Arch, recipe: Recipe, small_digits: ImageData, field: str, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ConfigError) as err:
        _run(tiny_arch, recipe, small_digits, **kwargs)
    assert err.value.field == field


def test_host_count_ema_equals_averaged_model_with_the_warmup_fn() -> None:
    """WarmupEMA avoids the device reads of AveragedModel.update_parameters, with the same arithmetic."""
    gen = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    ours = make_ema(model, 0.95)
    reference = AveragedModel(model, multi_avg_fn=_warmup_ema(0.95), use_buffers=True)
    for _ in range(30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen))
        model(torch.randn(5, 3, 8, 8, generator=gen))  # moves the BatchNorm buffers
        ours.update_parameters(model)
        reference.update_parameters(model)
    got = [*ours.module.parameters(), *ours.module.buffers()]
    want = [*reference.module.parameters(), *reference.module.buffers()]
    assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))
    assert ours.updates == int(ours.n_averaged) == 30


def test_mixup_plan_draws_what_per_step_draws_would() -> None:
    sizes = [32, 32, 7]
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    lams, perms = _mixup_plan(a, 0.4, sizes, torch.device("cpu"))
    offset = 0
    for lam, size in zip(lams, sizes, strict=True):
        assert lam == float(b.beta(0.4, 0.4))
        assert np.array_equal(perms[offset : offset + size].numpy(), b.permutation(size))
        offset += size
    assert perms.shape == (sum(sizes),)
