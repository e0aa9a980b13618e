"""Overhead of ``optnas.train.train_and_evaluate`` over a bare PyTorch training loop.

Both sides train the same network (:func:`optnas.models.build` with the same seed) on the same
data (the same training and validation images at the same resolution), for the same epochs,
with the same optimizer (SGD, Nesterov momentum), the same batch size and no augmentation,
and both evaluate validation accuracy after every epoch. The bare loop is the minimal PyTorch
recipe: the images are normalized into one float tensor up front, each epoch indexes it with a
permutation, and each step is forward, cross-entropy, backward, ``optimizer.step()``. Ours adds
what a search needs: per-batch uint8 -> float conversion, parameter groups, a per-step warm-up
+ cosine schedule, loss bookkeeping, divergence checks, seeded RNG isolation and the result
record. Both sides run in this process, interleaved, ``--repeats`` times each; the medians are
compared (ratio > 1 means ours is slower). A third row, reported but not part of the ratio,
times ours with the standard pad + crop (+ flip) albumentations augmentation on.

Usage::

    python -m benchmarks.trainer_overhead [--dataset digits|cifar10] [--epochs 3] [--repeats 5]
                                          [--threads 1] [--out benchmarks/results]

``--dataset cifar10`` reads the reduced CIFAR-10 folder at ``$OPTNAS_CIFAR10`` or
``../shared/data/cifar10`` (4,000 training images, 1,000 validation images).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from optnas.cost import count
from optnas.data import ImageData, load
from optnas.models import build
from optnas.space import Arch, Recipe
from optnas.train import train_and_evaluate

REPO = Path(__file__).resolve().parents[1]
ARCHS = {
    # a mid-size candidate of each preset
    "digits": "res16 stem_k3_s1_c16_hs ir_k3_e1_c16_hs ir_k3_e3_c24_s2_n2_se_hs ir_k3_e3_c32_s2_n2_hs head_c64_hs",
    "cifar10": (
        "res32 stem_k3_s1_c12_hs ir_k3_e1_c12_hs ir_k3_e3_c20_s2_n2_hs ir_k5_e3_c32_s2_n2_se_hs "
        "ir_k3_e3_c48_s2_n2_hs ir_k5_e3_c80_se_hs head_c256_hs"
    ),
}
BATCH = {"digits": 64, "cifar10": 128}


def _data(name: str) -> ImageData:
    if name == "digits":
        return load("digits")
    root = Path(os.environ.get("OPTNAS_CIFAR10", REPO.parent / "shared" / "data" / "cifar10"))
    return load("imagefolder", root=root, subset=4000, val_size=1000)


@torch.inference_mode()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(int((model(x[i : i + 500]).argmax(1) == y[i : i + 500]).sum()) for i in range(0, len(x), 500))
    model.train()
    return correct / len(x)


def bare_loop(arch: Arch, recipe: Recipe, data: ImageData, seed: int) -> tuple[float, list[float]]:
    """The minimal PyTorch loop; returns (seconds, per-epoch validation accuracy)."""
    t0 = time.perf_counter()
    r = arch.resolution
    mean, std = data.channel_stats()
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def tensor(x: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(x.copy()).permute(0, 3, 1, 2).float().div(255) - m).div(s).contiguous()

    train_x, val_x = tensor(data.resized("train", r)), tensor(data.resized("val", r))
    train_y, val_y = torch.from_numpy(data.train_y.copy()), torch.from_numpy(data.val_y.copy())
    model = build(arch, recipe, data.num_classes, seed=seed)
    opt = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    rng = np.random.default_rng(seed)
    curve = []
    n, b = len(train_x), recipe.batch_size
    for _ in range(recipe.epochs):
        perm = torch.from_numpy(rng.permutation(n))
        for i in range(0, n - (1 if n % b == 1 else 0), b):
            idx = perm[i : i + b]
            loss = loss_fn(model(train_x[idx]), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        curve.append(_accuracy(model, val_x, val_y))
    return time.perf_counter() - t0, curve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(ARCHS), default="digits")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = _data(args.dataset)
    arch = Arch.parse(ARCHS[args.dataset])
    recipe = Recipe(
        optimizer="sgd",
        lr=0.05,
        weight_decay=5e-5,
        momentum=0.9,
        dropout=0.0,
        label_smoothing=0.1,
        epochs=args.epochs,
        batch_size=BATCH[args.dataset],
        warmup_epochs=0.0,
    )
    data.resized("train", arch.resolution)  # warm the resize cache shared by both sides
    data.resized("val", arch.resolution)
    times: dict[str, list[float]] = {"bare": [], "ours": [], "ours_standard_aug": []}
    curves: dict[str, list[float]] = {}
    for rep in range(args.repeats):
        sec, curve = bare_loop(arch, recipe, data, seed=rep)
        times["bare"].append(sec)
        curves["bare"] = curve
        res = train_and_evaluate(arch, recipe, data, seed=rep, standard_augment=False, num_threads=args.threads)
        times["ours"].append(res.wall_time)
        curves["ours"] = list(res.curve)
        res = train_and_evaluate(arch, recipe, data, seed=rep, num_threads=args.threads)
        times["ours_standard_aug"].append(res.wall_time)
        curves["ours_standard_aug"] = list(res.curve)
        print(f"repeat {rep}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["ours"] / med["bare"]
    paired = statistics.median(o / b for o, b in zip(times["ours"], times["bare"], strict=True))
    cost = count(arch, data.num_classes)
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, REPO), *(argv or sys.argv[1:])])
    record: dict[str, Any] = {
        "command": command,
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": args.threads,
        "load_average_1min_end": os.getloadavg()[0],
        "torch": torch.__version__,
        "dataset": data.summary(),
        "arch": str(arch),
        "macs": cost.macs,
        "params": cost.params,
        "recipe": recipe.to_dict(),
        "times_s": times,
        "median_s": med,
        "ratio_ours_over_bare": ratio,
        "median_paired_ratio_ours_over_bare": paired,
        "ratio_ours_standard_aug_over_bare": med["ours_standard_aug"] / med["bare"],
        "last_curves": curves,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "trainer_overhead" if args.dataset == "digits" else f"trainer_overhead_{args.dataset}"
    (args.out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    rows = "\n".join(
        f"| {k} | {med[k]:.2f} | {' / '.join(f'{t:.2f}' for t in times[k])} | {med[k] / med['bare']:.3f} | "
        f"{curves[k][-1]:.3f} |"
        for k in times
    )
    header = [
        f"Command: `{command}`",
        f"Date (UTC): {record['date_utc']}",
        f"Machine: {record['machine']}, {record['cores']} cores, torch {torch.__version__} with {args.threads} "
        f"thread(s); 1-min load average at the end {record['load_average_1min_end']:.2f} (the machine is shared)",
        f"Data: {data.name}, {data.train_x.shape[0]} training / {data.val_x.shape[0]} validation images "
        f"at {arch.resolution} px",
        f"Network: `{arch}` ({cost.macs / 1e6:.2f} M MACs, {cost.params / 1e3:.1f} k params)",
        f"Recipe: SGD Nesterov lr {recipe.lr}, batch {recipe.batch_size}, {recipe.epochs} epochs, "
        "evaluation every epoch",
    ]
    hdr = "  \n".join(header)
    md = f"""# Trainer overhead: `train_and_evaluate` vs a bare PyTorch loop

{hdr}

**Overhead ratio (ours / bare, no augmentation on either side, medians): {ratio:.3f}**
(median of the per-repeat ratios: {paired:.3f})

| side | median s | runs s | / bare | last val acc |
|---|---|---|---|---|
{rows}

`ours` is `train_and_evaluate(..., standard_augment=False)`; `ours_standard_aug` adds the
standard pad + random crop (+ flip) albumentations pipeline and is shown for information
(the bare loop has no augmentation). Both sides time everything from the prepared uint8
arrays (tensor conversion, model build, training, per-epoch evaluation).
"""
    (args.out / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
