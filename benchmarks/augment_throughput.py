"""Throughput of optnas' albumentations AutoAugment/RandAugment vs torchvision's, same process.

Measures images/s of

* optnas ``published_policy("imagenet").to_albumentations()`` vs torchvision
  ``AutoAugment(AutoAugmentPolicy.IMAGENET)``,
* optnas ``rand_augment(2, 9)`` vs torchvision ``RandAugment(num_ops=2, magnitude=9)``,

on uint8 RGB images of 32x32 and 224x224 (crops of scikit-learn's sample photographs);
torchvision is run on PIL images and on uint8 CHW tensors, optnas on HWC numpy arrays (each
library's native input; conversions are outside the timed loop). Single thread
(``torch.set_num_threads(1)``, ``cv2.setNumThreads(1)``), as in one data-loader worker.
Each figure is the best of ``--repeats`` runs of ``--seconds`` each; ratios are
optnas / torchvision (> 1: optnas faster).

Usage::

    python -m benchmarks.augment_throughput [--seconds 1.0] [--repeats 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np


def _images(size: int, count: int) -> list[np.ndarray[Any, Any]]:
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    out = []
    for k in range(count):
        photo = photos[k % len(photos)]
        crop = int(rng.integers(size, min(photo.shape[:2]) + 1))
        y = int(rng.integers(0, photo.shape[0] - crop + 1))
        x = int(rng.integers(0, photo.shape[1] - crop + 1))
        patch = photo[y : y + crop, x : x + crop]
        out.append(np.ascontiguousarray(cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)))
    return out


def _rate(fn: Callable[[Any], Any], inputs: Sequence[Any], seconds: float, repeats: int) -> float:
    for x in inputs[:8]:  # warm-up (caches, lazy imports)
        fn(x)
    best = 0.0
    for _ in range(repeats):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for x in inputs:
                fn(x)
            done += len(inputs)
        best = max(best, done / elapsed)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    import albumentations
    import PIL
    import torch
    import torchvision
    from PIL import Image
    from torchvision.transforms import AutoAugment, AutoAugmentPolicy, RandAugment

    from optnas.augment import published_policy, rand_augment

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    ours = {
        "autoaugment_imagenet": published_policy("imagenet").to_albumentations(seed=0),
        "randaugment_2_9": rand_augment(2, 9, seed=0),
    }
    theirs = {
        "autoaugment_imagenet": AutoAugment(AutoAugmentPolicy.IMAGENET),
        "randaugment_2_9": RandAugment(num_ops=2, magnitude=9),
    }
    rows = []
    for size in args.sizes:
        arrays = _images(size, 64)
        pils = [Image.fromarray(a) for a in arrays]
        tensors = [torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in arrays]
        for name, pipeline in ours.items():
            tv = theirs[name]
            r_ours = _rate(lambda x, p=pipeline: p(image=x)["image"], arrays, args.seconds, args.repeats)
            r_pil = _rate(tv, pils, args.seconds, args.repeats)
            r_tensor = _rate(tv, tensors, args.seconds, args.repeats)
            row = {
                "pipeline": name,
                "size": size,
                "optnas_images_per_s": round(r_ours, 1),
                "torchvision_pil_images_per_s": round(r_pil, 1),
                "torchvision_tensor_images_per_s": round(r_tensor, 1),
                "ratio_vs_pil": round(r_ours / r_pil, 3),
                "ratio_vs_tensor": round(r_ours / r_tensor, 3),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    meta = {
        "command": command,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": 1,
        "versions": {
            "albumentations": albumentations.__version__,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "pillow": PIL.__version__,
            "opencv": cv2.__version__,
        },
        "seconds_per_run": args.seconds,
        "repeats": args.repeats,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "augment_throughput.json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    lines = [
        "# Augmentation throughput: optnas (albumentations) vs torchvision",
        "",
        f"Command: `{command}`  ",
        f"Date: {meta['date_utc']}; Python {meta['python']} on {meta['machine']} "
        f"({meta['cpu_count']} CPUs, 1 thread); versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "",
        "Images/s, best of runs; ratio = optnas / torchvision (> 1: optnas faster).",
        "",
        "| pipeline | size | optnas | torchvision PIL | torchvision tensor | ratio vs PIL | ratio vs tensor |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pipeline']} | {r['size']}x{r['size']} | {r['optnas_images_per_s']:.0f} | "
            f"{r['torchvision_pil_images_per_s']:.0f} | {r['torchvision_tensor_images_per_s']:.0f} | "
            f"{r['ratio_vs_pil']:.2f} | {r['ratio_vs_tensor']:.2f} |"
        )
    (args.out / "augment_throughput.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
