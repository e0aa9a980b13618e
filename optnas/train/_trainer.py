"""``train_and_evaluate``: train one (architecture, recipe) candidate and report accuracy.

This is the evaluation step of FBNetV3's constrained iterative optimization (Dai et al.,
2021, Sec. 3.1, "train the candidates and evaluate"), with the recipe knobs of its Table 1:
optimizer type, learning rate, weight decay, mixup (Zhang et al., 2018), dropout, stochastic
depth and weight EMA; plus label smoothing and a linear warm-up + cosine schedule. Validation
accuracy is reported to Optuna after every epoch so pruners can stop poor candidates early
(FBNetV3 Sec. 3.1 uses early-stopped training for the same purpose).

Randomness (seed -> streams, all derived with ``numpy.random.SeedSequence``):

- model initialization: :func:`optnas.models.build` with ``seed = SeedSequence([seed, 10])``;
- shuffling and augmentation: the :class:`~optnas.data.Loader` streams ``[seed, 2, epoch]``
  and ``[seed, 3, epoch]``;
- mixup coefficients and partners: a numpy ``Generator`` on ``[seed, 12]``;
- dropout and drop-path draw from torch's default generator. Training therefore runs inside
  ``torch.random.fork_rng``, which saves and restores the caller's generator state, and the
  forked generator is seeded with ``[seed, 11]``; the caller's global state is neither read
  nor changed.

BatchNorm running statistics use a cumulative average for their first ~10 steps
(:class:`~optnas.train._bn.BatchNormWarmup`), so that evaluations after a short first epoch are
not dominated by the arbitrary initial statistics.

On CPU two calls with the same arguments (and the same thread count) give identical curves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from optnas._errors import ConfigError
from optnas.cost import count
from optnas.data import ImageData
from optnas.data._loader import Loader
from optnas.models import build
from optnas.space import AnyArch, Arch, Recipe, TorchvisionArch
from optnas.train._bn import BatchNormWarmup
from optnas.train._ema import make_ema
from optnas.train._optim import make_optimizer, make_scheduler
from optnas.train._result import TrainResult

if TYPE_CHECKING:
    import optuna

__all__ = ["evaluate", "train_and_evaluate"]

_MODEL, _TORCH, _MIXUP = 10, 11, 12
_EVAL_BATCH = 500


def _derive(seed: int, tag: int) -> int:
    return int(np.random.SeedSequence([seed, tag]).generate_state(1, dtype=np.uint64)[0] >> 1)


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = _EVAL_BATCH) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on normalized images ``x`` with labels ``y``."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        logits = model(x[i : i + batch_size])
        correct += int((logits.argmax(dim=1) == y[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / max(1, x.shape[0])


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError("device", device, f"not a torch device: {exc}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", device, "CUDA is not available on this machine")
    return dev


def _progress(enabled: bool | None, total: int, desc: str) -> Any:
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if enabled is None else bool(enabled)
    return tqdm(total=total, desc=desc, disable=not show, leave=False, unit="step", dynamic_ncols=True)


def train_and_evaluate(
    arch: AnyArch,
    recipe: Recipe,
    data: ImageData,
    *,
    trial: optuna.trial.BaseTrial | None = None,
    seed: int = 0,
    epochs: int | None = None,
    augment: Any = None,
    standard_augment: bool = True,
    evaluate_test: bool = False,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
    num_threads: int | None = None,
) -> TrainResult:
    """Train ``arch`` with ``recipe`` on ``data`` and return its validation accuracy.

    Args:
        arch: the architecture (an :class:`~optnas.space.Arch` or a torchvision classifier,
            :class:`~optnas.space.TorchvisionArch`); images are resized to ``arch.resolution``.
        recipe: the training recipe (optimizer, lr, weight decay, momentum, mixup, dropout,
            stochastic depth, EMA, label smoothing, epochs, batch size, warm-up).
        data: the dataset (:func:`optnas.data.load`).
        trial: when given, ``trial.report(val_accuracy, epoch)`` is called after every
            epoch with the **1-based** epoch number (the number of epochs trained so far),
            and :class:`optuna.TrialPruned` is raised when ``trial.should_prune()``.
        seed: seed of every random stream of the run (see the module docstring).
        epochs: train this many epochs instead of ``recipe.epochs`` (e.g. an early-stopping
            budget); the warm-up + cosine schedule then spans these epochs.
        augment: an extra albumentations transform applied after the standard crop and
            flip (e.g. an AutoAugment policy).
        standard_augment: apply the standard pad + random crop (+ flip) augmentation.
        evaluate_test: also measure the final model on the dataset's test split.
        device: torch device to train on.
        progress: show a tqdm bar; ``None`` shows one only when stderr is a terminal.
        num_threads: torch intra-op threads during the call (restored afterwards).

    Returns:
        A :class:`TrainResult`. When the training loss becomes non-finite (a diverging
        recipe) training stops at that epoch, the model is still evaluated as it is, and
        ``diverged`` is True.

    Raises:
        optuna.TrialPruned: the trial's pruner stopped the run.
        ConfigError: invalid arguments.
    """
    start = time.perf_counter()
    if not isinstance(arch, Arch | TorchvisionArch):
        raise ConfigError("arch", type(arch).__name__, "expected an optnas.space.Arch or TorchvisionArch")
    if not isinstance(recipe, Recipe):
        raise ConfigError("recipe", type(recipe).__name__, "expected an optnas.space.Recipe")
    if not isinstance(data, ImageData):
        raise ConfigError("data", type(data).__name__, "expected an optnas.data.ImageData")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", seed, "must be a non-negative integer")
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError("epochs", epochs, "must be a positive integer")
        recipe = dataclasses.replace(recipe, epochs=epochs)
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    ):
        raise ConfigError("num_threads", num_threads, "must be a positive integer")
    if evaluate_test and not data.has_test:
        raise ConfigError("evaluate_test", True, f"dataset {data.name!r} has no test split")
    dev = _device(device)
    fork_devices: list[int] = []
    if dev.type == "cuda":
        fork_devices = [dev.index if dev.index is not None else torch.cuda.current_device()]

    with (
        _threads(num_threads),
        torch.random.fork_rng(devices=fork_devices, device_type=dev.type if fork_devices else "cuda"),
    ):
        torch.default_generator.manual_seed(_derive(seed, _TORCH))
        if fork_devices:
            torch.cuda.default_generators[fork_devices[0]].manual_seed(_derive(seed, _TORCH))
        result = _run(arch, recipe, data, trial, seed, augment, standard_augment, evaluate_test, dev, progress)
    return dataclasses.replace(result, wall_time=time.perf_counter() - start)


def _run(
    arch: AnyArch,
    recipe: Recipe,
    data: ImageData,
    trial: optuna.trial.BaseTrial | None,
    seed: int,
    augment: Any,
    standard_augment: bool,
    evaluate_test: bool,
    device: torch.device,
    progress: bool | None,
) -> TrainResult:
    loader = Loader(
        data,
        arch.resolution,
        batch_size=recipe.batch_size,
        standard=standard_augment,
        augment=augment,
        seed=seed,
        device=device,
    )
    val_x, val_y = loader.eval_tensors("val")
    model = build(arch, recipe, data.num_classes, seed=_derive(seed, _MODEL), device=device)
    model.train()
    bn_warmup = BatchNormWarmup(model)
    optimizer = make_optimizer(model, recipe)
    steps = len(loader)
    scheduler = make_scheduler(optimizer, recipe, steps, recipe.epochs)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    ema = make_ema(model, recipe.ema_decay) if recipe.ema else None
    evaluated: nn.Module = ema if ema is not None else model
    mixup = np.random.default_rng(np.random.SeedSequence([seed, _MIXUP])) if recipe.mixup_alpha > 0 else None

    curve: list[float] = []
    losses: list[float] = []
    train_time = 0.0
    diverged = False
    bar = _progress(progress, recipe.epochs * steps, f"train {arch.resolution}px")
    try:
        for epoch in range(recipe.epochs):
            tic = time.perf_counter()
            total, seen = 0.0, 0
            for x, y in loader.epoch(epoch):
                bn_warmup.step()
                if mixup is not None:
                    lam = float(mixup.beta(recipe.mixup_alpha, recipe.mixup_alpha))
                    perm = torch.from_numpy(mixup.permutation(x.shape[0])).to(device)
                    x = x.mul(lam).add_(x[perm], alpha=1.0 - lam)
                    out = model(x)
                    loss = lam * criterion(out, y) + (1.0 - lam) * criterion(out, y[perm])
                else:
                    loss = criterion(model(x), y)
                value = float(loss.detach())
                if not math.isfinite(value):
                    diverged = True
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                if ema is not None:
                    ema.update_parameters(model)
                total += value * x.shape[0]
                seen += x.shape[0]
                bar.update(1)
            train_time += time.perf_counter() - tic
            acc = evaluate(evaluated, val_x, val_y)
            curve.append(acc)
            losses.append(total / seen if seen else math.nan)
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.3f}", val=f"{acc:.3f}")
            if trial is not None:
                trial.report(acc, epoch + 1)
                if trial.should_prune():
                    import optuna

                    raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} at accuracy {acc:.4f}")
            if diverged:
                break
    finally:
        bar.close()

    test_acc = None
    if evaluate_test:
        test_x, test_y = loader.eval_tensors("test")
        test_acc = evaluate(evaluated, test_x, test_y)
    return TrainResult(
        accuracy=curve[-1],
        curve=tuple(curve),
        best_accuracy=max(curve),
        epochs=len(curve),
        wall_time=0.0,
        train_time=train_time,
        cost=count(arch, data.num_classes),
        train_loss=tuple(losses),
        test_accuracy=test_acc,
        diverged=diverged,
    )
