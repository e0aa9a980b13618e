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
  (the permutation) and ``[seed, 3, epoch]`` (expanded to one state per training image, so an
  image's augmentation depends only on the seed, the epoch and the image, not on the process
  that augments it);
- mixup coefficients and partners: a numpy ``Generator`` on ``[seed, 12]``;
- dropout and drop-path draw from torch's default generator. Training therefore runs inside
  ``torch.random.fork_rng``, which saves and restores the caller's generator state, and the
  forked generator is seeded with ``[seed, 11]``; the caller's global state is neither read
  nor changed.

BatchNorm running statistics use a cumulative average for their first ~10 steps
(:class:`~optnas.train._bn.BatchNormWarmup`), so that evaluations after a short first epoch are
not dominated by the arbitrary initial statistics.

On CPU two calls with the same arguments (and the same thread count) give identical curves.

Accelerators (``device="cuda"``, ``"cuda:1"``, ...):

- ``num_workers`` DataLoader processes augment the batches (:class:`~optnas.data.Loader`); the
  batches, and so the curves on CPU, are the same for every ``num_workers``.
- ``precision`` ``"bf16"`` or ``"fp16"`` runs forward passes under ``torch.autocast`` (fp16 with a
  ``torch.amp.GradScaler``); ``"fp32"`` (the default) is plain float32. ``channels_last`` stores
  the model and the batches in ``torch.channels_last`` format (faster convolutions on GPUs).
- The step does not wait for the device: the epoch's mixup partners are copied to the device
  once per epoch, the EMA update uses a host-side count, and the loss sum and correct counts
  are device tensors read once per epoch (the divergence check reads the loss sum every
  :data:`SYNC_EVERY` steps on an accelerator and every step on CPU). fp16's gradient scaler
  still checks for overflow on the host at every step (bf16 needs no scaler).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
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

__all__ = ["PRECISIONS", "SYNC_EVERY", "evaluate", "train_and_evaluate"]

_MODEL, _TORCH, _MIXUP = 10, 11, 12
_EVAL_BATCH = 500
#: Precisions accepted by :func:`train_and_evaluate`.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
#: Steps between host reads of the running loss (divergence check) on an accelerator.
SYNC_EVERY = 50
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _derive(seed: int, tag: int) -> int:
    return int(np.random.SeedSequence([seed, tag]).generate_state(1, dtype=np.uint64)[0] >> 1)


@torch.inference_mode()
def _accuracy(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], precision: str) -> float:
    """Top-1 accuracy over ``batches``; the correct count stays on the device until the end."""
    was_training = model.training
    model.eval()
    correct: torch.Tensor | None = None
    n = 0
    for x, y in batches:
        with _autocast(x.device, precision):
            logits = model(x)
        hits = (logits.argmax(dim=1) == y).sum()
        correct = hits if correct is None else correct + hits
        n += int(y.shape[0])
    model.train(was_training)
    return (int(correct.item()) if correct is not None else 0) / max(1, n)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = _EVAL_BATCH, *, precision: str = "fp32"
) -> float:
    """Top-1 accuracy of ``model`` (in eval mode) on normalized images ``x`` with labels ``y``."""
    _precision(precision)
    batches = ((x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, x.shape[0], batch_size))
    return _accuracy(model, batches, precision)


def _precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ConfigError("precision", precision, f"expected one of {PRECISIONS}")
    return precision


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` for bf16/fp16; nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


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
    stop_after: int | None = None,
    augment: Any = None,
    standard_augment: bool = True,
    evaluate_test: bool = False,
    device: str | torch.device = "cpu",
    progress: bool | None = None,
    num_threads: int | None = None,
    num_workers: int = 0,
    precision: str = "fp32",
    channels_last: bool = False,
    keep_model: bool = False,
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
        stop_after: train only the first ``stop_after`` epochs of the full schedule (which
            still spans ``recipe.epochs``, or ``epochs``): the run is then exactly the prefix of
            the full run with the same seed, so its accuracy is the full run's learning curve at
            that epoch. This is the fidelity FBNetV3's early-stopping criterion compares
            (Sec. 3.1: the ranking at an early epoch against the final ranking), which a
            schedule compressed into fewer epochs would not give.
        augment: an extra albumentations transform applied after the standard crop and
            flip (e.g. an AutoAugment policy).
        standard_augment: apply the standard pad + random crop (+ flip) augmentation.
        evaluate_test: also measure the final model on the dataset's test split.
        device: torch device to train on.
        progress: show a tqdm bar; ``None`` shows one only when stderr is a terminal.
        num_threads: torch intra-op threads during the call (restored afterwards).
        num_workers: DataLoader worker processes that augment the training batches (0: in
            this process). Every value gives the same batches; on CPU, the same result.
        precision: ``"fp32"`` (exact float32, the default), ``"bf16"`` or ``"fp16"``
            (``torch.autocast``; fp16 adds a gradient scaler).
        channels_last: use the ``torch.channels_last`` memory format for the model and batches.
        keep_model: return the trained (evaluated) network as ``TrainResult.model`` (off by
            default, so that a list of results holds no networks).

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
    if stop_after is not None and (isinstance(stop_after, bool) or not isinstance(stop_after, int) or stop_after < 1):
        raise ConfigError("stop_after", stop_after, "must be a positive integer")
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    ):
        raise ConfigError("num_threads", num_threads, "must be a positive integer")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ConfigError("num_workers", num_workers, "must be a non-negative integer")
    _precision(precision)
    if not isinstance(channels_last, bool):
        raise ConfigError("channels_last", channels_last, "must be true or false")
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
        options = _Options(num_workers, precision, channels_last, bool(keep_model), stop_after)
        result = _run(arch, recipe, data, trial, seed, augment, standard_augment, evaluate_test, dev, progress, options)
    return dataclasses.replace(result, wall_time=time.perf_counter() - start)


@dataclass(frozen=True)
class _Options:
    """The execution options of one run (how it runs, not what it learns)."""

    num_workers: int = 0
    precision: str = "fp32"
    channels_last: bool = False
    keep_model: bool = False
    stop_after: int | None = None


@contextlib.contextmanager
def _cudnn_benchmark(device: torch.device) -> Iterator[None]:
    """cuDNN autotuning for the run's fixed shapes on CUDA (restored afterwards)."""
    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def _mixup_plan(
    rng: np.random.Generator, alpha: float, sizes: list[int], device: torch.device
) -> tuple[list[float], torch.Tensor]:
    """One epoch's mixup coefficients and partner permutations, drawn in step order.

    The draws are those of a per-step ``beta`` then ``permutation``; the permutations go to
    the device in one copy (offset by each batch's start) instead of one copy per step.
    """
    lams: list[float] = []
    perms: list[npt.NDArray[np.int64]] = []
    for size in sizes:
        lams.append(float(rng.beta(alpha, alpha)))
        perms.append(rng.permutation(size).astype(np.int64))
    flat = np.concatenate(perms) if perms else np.zeros(0, dtype=np.int64)
    return lams, torch.from_numpy(flat).to(device)


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
    options: _Options,
) -> TrainResult:
    loader = Loader(
        data,
        arch.resolution,
        batch_size=recipe.batch_size,
        standard=standard_augment,
        augment=augment,
        seed=seed,
        device=device,
        num_workers=options.num_workers,
        channels_last=options.channels_last,
        epochs=recipe.epochs,
    )
    try:
        with _cudnn_benchmark(device):
            return _train(arch, recipe, data, trial, seed, evaluate_test, device, progress, options, loader)
    finally:
        loader.close()


def _train(
    arch: AnyArch,
    recipe: Recipe,
    data: ImageData,
    trial: optuna.trial.BaseTrial | None,
    seed: int,
    evaluate_test: bool,
    device: torch.device,
    progress: bool | None,
    options: _Options,
    loader: Loader,
) -> TrainResult:
    precision = options.precision
    model = build(arch, recipe, data.num_classes, seed=_derive(seed, _MODEL), device=device)
    if options.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    bn_warmup = BatchNormWarmup(model)
    optimizer = make_optimizer(model, recipe)
    steps = len(loader)
    scheduler = make_scheduler(optimizer, recipe, steps, recipe.epochs)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    ema = make_ema(model, recipe.ema_decay) if recipe.ema else None
    evaluated: nn.Module = ema if ema is not None else model
    mixup = np.random.default_rng(np.random.SeedSequence([seed, _MIXUP])) if recipe.mixup_alpha > 0 else None
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    check_every = 1 if device.type == "cpu" else SYNC_EVERY
    n_train = int(data.train_x.shape[0])
    sizes = [min(recipe.batch_size, n_train - b * recipe.batch_size) for b in range(steps)]

    curve: list[float] = []
    losses: list[float] = []
    train_time = 0.0
    diverged = False
    n_epochs = recipe.epochs if options.stop_after is None else min(options.stop_after, recipe.epochs)
    bar = _progress(progress, n_epochs * steps, f"train {arch.resolution}px")
    try:
        for epoch in range(n_epochs):
            tic = time.perf_counter()
            if mixup is not None:
                lams, perms = _mixup_plan(mixup, recipe.mixup_alpha, sizes, device)
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            seen, finite_sum, finite_seen, offset = 0, 0.0, 0, 0
            for b, (x, y) in enumerate(loader.epoch(epoch)):
                bn_warmup.step()
                size = int(x.shape[0])
                with _autocast(device, precision):
                    if mixup is not None:
                        lam = lams[b]
                        perm = perms[offset : offset + size]
                        x = x.mul(lam).add_(x[perm], alpha=1.0 - lam)
                        out = model(x)
                        loss = lam * criterion(out, y) + (1.0 - lam) * criterion(out, y[perm])
                    else:
                        loss = criterion(model(x), y)
                offset += size
                running = loss_sum + loss.detach().double() * size
                if (b + 1) % check_every == 0 or b + 1 == steps:
                    value = float(running)
                    if not math.isfinite(value):
                        diverged = True
                        break
                    finite_sum, finite_seen = value, seen + size
                loss_sum = running
                seen += size
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                scheduler.step()
                if ema is not None:
                    ema.update_parameters(model)
                bar.update(1)
            if device.type == "cuda":  # once per epoch: train_time counts the queued work too
                torch.cuda.synchronize(device)
            train_time += time.perf_counter() - tic
            acc = _accuracy(evaluated, loader.eval_batches("val", _EVAL_BATCH), precision)
            curve.append(acc)
            losses.append(finite_sum / finite_seen if finite_seen else math.nan)
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
        test_acc = _accuracy(evaluated, loader.eval_batches("test", _EVAL_BATCH), precision)
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
        model=(ema.module if ema is not None else model) if options.keep_model else None,
    )
