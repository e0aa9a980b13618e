"""Training throughput of ``train_and_evaluate`` against a bare PyTorch loop with torchvision transforms.

Both sides train the same network (:func:`optnas.models.build`, same seed) on the same images at
the same resolution, with the same batch size, optimizer (SGD, Nesterov momentum), loss (label
smoothing of the recipe) and the same standard augmentation: zero-pad 4 px at 32 (scaled),
random crop, random horizontal flip. The bare loop is what a PyTorch user writes: a ``Dataset``
over ``uint8`` CHW tensors with ``torchvision.transforms.v2`` ``RandomCrop(padding=...)`` +
``RandomHorizontalFlip`` per sample, a ``DataLoader`` (``shuffle``, persistent workers, pinned
memory on CUDA), ``x.to(device).float()`` normalization, forward, backward, ``step``. Ours is
:func:`optnas.train.train_and_evaluate` with the same ``num_workers`` and precision, which adds
what a search needs (seeded per-sample augmentation, warm-up + cosine schedule, BatchNorm warm-up,
divergence checks, per-epoch validation). Throughput is training images per second of the
training epochs only (``TrainResult.train_time``; the bare loop's epochs, evaluation excluded on
both sides, worker start-up included on both sides).

Both sides run in this process, interleaved (ours, bare, bare, ours, ...), ``--repeats`` times
per configuration (in GPU mode after one warm-up run of each: CUDA context, cuDNN autotuning);
the medians are compared. A background job may
share the machine, so the result is the *ratio* of times in the same run (ours / bare; > 1 means
ours is slower), not the absolute rates. Goal: ours within 1.10x of the bare loop's time.

CPU mode (default), for the ``cifar`` preset at 32 px, 0 and 1 workers::

    python -m benchmarks.train_throughput [--subset 1000] [--epochs 1] [--repeats 10] [--threads 1]

GPU mode (``--gpu``; see ``benchmarks/gpu_check.sh``, which also runs a 2-worker JointNAS study
on one device): the ``cifar`` preset at 32 px and the ``fbnetv3`` preset at 224 px, fp32 and bf16,
0 / 4 / 8 workers, with the mean GPU utilization (``nvidia-smi`` sampled every 100 ms during the
training call) and the peak allocated memory of each run::

    python -m benchmarks.train_throughput --gpu --device cuda:0 --budget 300

**The GPU mode has not been run yet** (no GPU was available to the session that wrote it): its
sizes (``--gpu-subset``, ``--epochs``) are estimates chosen to fit the whole GPU check into one
call under 8 minutes on an H200, and ``--budget`` skips the remaining configurations (the report
is then ``partial``) rather than overrun. Results go to ``benchmarks/results/train_throughput.json``
and ``.md`` (``train_throughput_gpu.*`` in GPU mode; ``--out`` to change the folder).

The images are the reduced CIFAR-10 ImageFolder at ``$OPTNAS_CIFAR10`` or ``../shared/data/cifar10``
(``load("imagefolder", subset=..., val_size=1000)``; upscaled to 224 px for ``fbnetv3``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from benchmarks import _harness
from optnas.data import ImageData, load, standard_padding
from optnas.models import build
from optnas.space import AnyArch, Recipe, preset
from optnas.train import train_and_evaluate

REPO = Path(__file__).resolve().parents[1]
NAME = "train_throughput"
#: Candidate of each preset: the middle of every architecture range (first choice of a categorical).
RESOLUTION = {"cifar": 32, "fbnetv3": 224}


def cifar_root() -> Path:
    """The reduced CIFAR-10 ImageFolder (``$OPTNAS_CIFAR10`` or ``../shared/data/cifar10``)."""
    return Path(os.environ.get("OPTNAS_CIFAR10", REPO.parent / "shared" / "data" / "cifar10"))


def candidate(name: str, batch_size: int) -> tuple[AnyArch, Recipe]:
    """A mid-size candidate of preset ``name`` at :data:`RESOLUTION`, with a plain SGD recipe.

    EMA and mixup are off, which the bare loop does not have either; dropout, stochastic depth
    and label smoothing stay at mid-range values (they are part of the network and loss on both
    sides).
    """
    space = preset(name)
    params: dict[str, Any] = {}
    for key, dist in space.distributions().items():
        if hasattr(dist, "choices"):
            params[key] = dist.choices[0]
        elif isinstance(dist.low, int) and not isinstance(dist.low, bool) and dist.step is not None:
            steps = (dist.high - dist.low) // dist.step
            params[key] = dist.low + (steps // 2) * dist.step
        else:
            params[key] = float(np.sqrt(dist.low * dist.high)) if dist.log else (dist.low + dist.high) / 2
    params.update(resolution=RESOLUTION[name], optimizer="sgd", lr=0.05, mixup_alpha=0.0, ema=False)
    arch, recipe = space.decode_params(params)
    recipe = Recipe(**{**recipe.to_dict(), "batch_size": batch_size, "momentum": 0.9, "warmup_epochs": 0.0})
    return arch, recipe


class _TorchvisionData(Dataset[tuple[torch.Tensor, int]]):
    """``uint8`` CHW images with a torchvision v2 transform applied per sample."""

    def __init__(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], resolution: int) -> None:
        from torchvision.transforms import v2

        self.x = torch.from_numpy(np.array(x, copy=True)).permute(0, 3, 1, 2)
        self.y = y.tolist()
        self.transform = v2.Compose(
            [v2.RandomCrop(resolution, padding=standard_padding(resolution)), v2.RandomHorizontalFlip()]
        )

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.x[i]), self.y[i]


def bare_loop(
    arch: AnyArch,
    recipe: Recipe,
    data: ImageData,
    *,
    epochs: int,
    workers: int,
    device: torch.device,
    precision: str,
    seed: int = 0,
) -> float:
    """The plain PyTorch loop; returns the seconds of its training epochs."""
    r = arch.resolution
    mean, std = data.channel_stats()
    scale = torch.tensor(1.0 / (255.0 * std), dtype=torch.float32, device=device).view(1, 3, 1, 1)
    shift = torch.tensor(mean / std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    ds = _TorchvisionData(data.resized("train", r), data.train_y, r)
    loader = DataLoader(
        ds,
        batch_size=recipe.batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(seed),
    )
    model = build(arch, recipe, data.num_classes, seed=seed, device=device)
    model.train()
    opt = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    start = time.perf_counter()
    for _ in range(epochs):
        for xb, yb in loader:
            x = xb.to(device, non_blocking=True).float().mul_(scale).sub_(shift)
            y = yb.to(device, non_blocking=True)
            with autocast:
                loss = criterion(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    del loader  # stops the persistent workers
    return seconds


def ours(
    arch: AnyArch,
    recipe: Recipe,
    data: ImageData,
    *,
    epochs: int,
    workers: int,
    device: torch.device,
    precision: str,
    seed: int = 0,
) -> float:
    """``train_and_evaluate``'s training seconds (``TrainResult.train_time``)."""
    res = train_and_evaluate(
        arch, recipe, data, epochs=epochs, seed=seed, device=device, num_workers=workers, precision=precision
    )
    return res.train_time


class _GpuSampler:
    """Mean GPU utilization and memory from ``nvidia-smi`` sampled every 100 ms in a thread."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        cmd = [
            "nvidia-smi",
            f"--id={self.index}",
            "--query-gpu=utilization.gpu,memory.used",
            "--format=csv,noheader,nounits",
            "-lms",
            "100",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if self._stop.is_set():
                    break
                with contextlib.suppress(ValueError):
                    util, mem = (float(v) for v in line.split(","))
                    self.samples.append((util, mem))
        finally:
            proc.terminate()
            proc.wait()

    def __enter__(self) -> _GpuSampler:
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def utilization(self) -> float | None:
        """Mean utilization (%) over the samples, ``None`` without nvidia-smi."""
        return round(statistics.fmean(u for u, _ in self.samples), 1) if self.samples else None


@contextlib.contextmanager
def _measure(device: torch.device, gpu: bool) -> Iterator[dict[str, Any]]:
    """Utilization and peak memory of the enclosed run (GPU mode), into the yielded dict."""
    out: dict[str, Any] = {}
    if not gpu or device.type != "cuda":  # (--gpu --device cpu: a dry run of the GPU mode's flow)
        yield out
        return
    torch.cuda.reset_peak_memory_stats(device)
    with _GpuSampler(device.index or 0) as sampler:
        yield out
    out["gpu_util_pct"] = sampler.utilization()
    out["peak_mem_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def run_config(
    model: str,
    data: ImageData,
    *,
    workers: int,
    precision: str,
    epochs: int,
    repeats: int,
    batch_size: int,
    device: torch.device,
    gpu: bool,
    warmup: bool,
) -> dict[str, Any]:
    """One configuration: a warm-up run of each side (when ``warmup``), then ``repeats`` interleaved pairs."""
    arch, recipe = candidate(model, batch_size)
    n = int(data.train_x.shape[0])
    kw = {"epochs": epochs, "workers": workers, "device": device, "precision": precision}
    if warmup:  # cuDNN autotuning, CUDA context, allocator (the data caches fill on first use either way)
        ours(arch, recipe, data, **kw, seed=99)  # type: ignore[arg-type]
        bare_loop(arch, recipe, data, **kw, seed=99)  # type: ignore[arg-type]
    times: dict[str, list[float]] = {"ours": [], "bare": []}
    stats: dict[str, dict[str, Any]] = {}
    for rep in range(repeats):
        pair = (("ours", ours), ("bare", bare_loop))
        for side, fn in pair if rep % 2 == 0 else pair[::-1]:  # ABBA: a drifting load hits both sides
            with _measure(device, gpu) as m:
                times[side].append(fn(arch, recipe, data, **kw, seed=rep))  # type: ignore[operator]
            for key, value in m.items():
                stats.setdefault(side, {}).setdefault(key, []).append(value)
    med = {side: statistics.median(t) for side, t in times.items()}
    row: dict[str, Any] = {
        "model": model,
        "resolution": arch.resolution,
        "precision": precision,
        "workers": workers,
        "batch_size": batch_size,
        "train_images": n,
        "epochs": epochs,
        "ours_s": [round(t, 3) for t in times["ours"]],
        "bare_s": [round(t, 3) for t in times["bare"]],
        "ours_images_per_s": round(n * epochs / med["ours"], 1),
        "bare_images_per_s": round(n * epochs / med["bare"], 1),
        "time_ratio": round(med["ours"] / med["bare"], 3),
        # the least-disturbed run of each side: robust to a background job's bursts
        "time_ratio_min": round(min(times["ours"]) / min(times["bare"]), 3),
        # median over the back-to-back (ours, bare) pairs: each pair shares the load of its moment
        "time_ratio_pairs": round(
            statistics.median(o / b for o, b in zip(times["ours"], times["bare"], strict=True)), 3
        ),
        "arch": str(arch),
    }
    for side, values in stats.items():
        for key, vals in values.items():
            good = [v for v in vals if v is not None]
            row[f"{side}_{key}"] = round(statistics.median(good), 1) if good else None
    return row


def _body(rows: Sequence[dict[str, Any]], args: argparse.Namespace, gpu: bool) -> list[str]:
    head = ["model", "px", "precision", "workers", "ours img/s", "bare img/s", "time ours/bare"]
    head += ["paired ours/bare", "min ours/min bare"]
    if gpu:
        head += ["GPU util ours %", "GPU util bare %", "peak MiB ours", "peak MiB bare"]
    table = []
    for r in rows:
        cells = [
            r["model"],
            r["resolution"],
            r["precision"],
            r["workers"],
            r["ours_images_per_s"],
            r["bare_images_per_s"],
            f"{r['time_ratio']:.3f}",
            f"{r['time_ratio_pairs']:.3f}",
            f"{r['time_ratio_min']:.3f}",
        ]
        if gpu:
            cells += [r.get("ours_gpu_util_pct"), r.get("bare_gpu_util_pct")]
            cells += [r.get("ours_peak_mem_mib"), r.get("bare_peak_mem_mib")]
        table.append(cells)
    lines = [
        f"Medians of {args.repeats} interleaved runs per row{' (after a warm-up of each side)' if gpu else ''}, "
        f"{rows[0]['epochs'] if rows else args.epochs} epochs, batch {args.batch_size}, "
        f"{args.threads} torch thread(s) in the training process. A background job shares the machine: "
        "compare the ratio column (same run), not absolute rates.",
        "",
        *_harness.md_table(head, table),
        "",
        "`time ours/bare` (ratio of the medians) > 1: `train_and_evaluate` is slower than the bare PyTorch "
        "loop with torchvision transforms on the same data, model and batch size. Goal: at most 1.10. "
        "`paired ours/bare` is the median of the ratios of back-to-back runs (each pair shares the load of its "
        "moment); `min ours/min bare` compares the fastest run of each side. The per-run seconds are in the JSON.",
        "",
        "Networks (the middle of each preset's ranges): "
        + "; ".join(sorted({f"{r['model']}: `{r['arch']}`" for r in rows})),
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="GPU mode (see the module docstring)")
    parser.add_argument("--device", default=None, help="torch device (default cpu, or cuda:0 with --gpu)")
    parser.add_argument("--subset", type=int, default=None, help="cifar training images (default 2000 CPU, 8000 GPU)")
    parser.add_argument("--gpu-subset", type=int, default=2000, help="training images for fbnetv3 at 224 px")
    parser.add_argument("--val-size", type=int, default=1000, help="validation images (ours evaluates them)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 1 CPU, 2 GPU)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per side (default 10 CPU, 2 GPU)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads of the training process")
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="default: 0 1 (CPU), 0 4 8 (GPU)")
    parser.add_argument("--precisions", nargs="+", default=None, help="default: fp32 (CPU), fp32 bf16 (GPU)")
    parser.add_argument("--models", nargs="+", default=None, help="default: cifar (CPU), cifar fbnetv3 (GPU)")
    parser.add_argument("--budget", type=float, default=None, help="seconds; skip configurations after it")
    parser.add_argument("--out", type=Path, default=_harness.RESULTS)
    args = parser.parse_args(argv)

    gpu = bool(args.gpu)
    device = torch.device(args.device or ("cuda:0" if gpu else "cpu"))
    workers = args.workers or ([0, 4, 8] if gpu else [0, 1])
    precisions = args.precisions or (["fp32", "bf16"] if gpu else ["fp32"])
    models = args.models or (["cifar", "fbnetv3"] if gpu else ["cifar"])
    args.subset = args.subset or (8000 if gpu else 1000)
    args.epochs = args.epochs or (2 if gpu else 1)
    args.repeats = args.repeats or (2 if gpu else 10)
    torch.set_num_threads(args.threads)
    start = time.monotonic()

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    meta = _harness.metadata(
        _harness.command_line("benchmarks.train_throughput", argv),
        device=str(device),
        gpu_name=torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        threads=args.threads,
    )
    name = NAME + ("_gpu" if gpu else "")
    for model in models:
        subset = args.gpu_subset if model == "fbnetv3" else args.subset
        data = load("imagefolder", root=cifar_root(), subset=subset, val_size=args.val_size, seed=0)
        for precision in precisions:
            for w in workers:
                label = f"{model}/{precision}/{w} workers"
                if args.budget is not None and time.monotonic() - start > args.budget:
                    skipped.append(label)
                    continue
                row = run_config(
                    model,
                    data,
                    workers=w,
                    precision=precision,
                    epochs=args.epochs,
                    repeats=args.repeats,
                    batch_size=args.batch_size,
                    device=device,
                    gpu=gpu,
                    warmup=gpu,
                )
                rows.append(row)
                print(row, flush=True)
                _write(name, meta, rows, skipped, args, gpu, partial=True)
    _write(name, meta, rows, skipped, args, gpu, partial=bool(skipped))
    return 0


def _write(
    name: str,
    meta: dict[str, Any],
    rows: list[dict[str, Any]],
    skipped: list[str],
    args: argparse.Namespace,
    gpu: bool,
    *,
    partial: bool,
) -> None:
    ratios = ", ".join(
        f"{r['model']} {r['precision']} {r['workers']}w {r['time_ratio']:.2f}x (paired {r['time_ratio_pairs']:.2f}x)"
        for r in rows
    )
    headline = f"train_and_evaluate time / bare PyTorch loop time: {ratios} (goal <= 1.10x)"
    body = _body(rows, args, gpu)
    if skipped:
        body += ["", f"Skipped after the {args.budget:.0f} s budget: {', '.join(skipped)}."]
    _harness.write_report(
        name,
        meta=meta,
        result={"rows": rows, "skipped": skipped},
        body=body,
        title="Training throughput: train_and_evaluate vs a bare PyTorch loop" + (" (GPU)" if gpu else " (CPU)"),
        headline=headline,
        status="partial" if partial else "complete",
        results_dir=args.out,
    )


if __name__ == "__main__":
    raise SystemExit(main())
