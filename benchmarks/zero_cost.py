"""Zero-cost proxies as "free" data for the predictor: do they know more than MACs and params? (issue 13)

FBNetV3 (Sec. 3.2) pretrains the predictor's encoder on free statistics (FLOPs, params). Issue 13
asks whether richer free data, such as zero-cost proxies computed at initialization, would help
the built-in spaces. A proxy can only help pretraining if it ranks the candidates' accuracy better
than the costs already used, or at least carries information the costs do not. This benchmark
measures that on the real evaluations (``benchmarks/data/cifar_evals.csv``: 400 reduced-CIFAR-10
trainings of the ``cifar`` preset; ``benchmarks/data/digits_evals.csv``: 175 digits trainings),
side by side with the costs, in one run:

- ``synflow`` (Tanaka et al., NeurIPS 2020; the zero-cost NAS proxy of Abdelfattah et al., ICLR
  2021): data-free, ``sum |theta * dR/dtheta|`` for ``R`` the summed output of the network with
  absolute weights on an all-ones input (double precision, BN in eval mode);
- ``naswot`` (Mellor et al., ICML 2021): ``log det`` of the Hamming kernel of the activation
  patterns (sign of every hard-swish/ReLU input) over a mini-batch of 32 training images at
  initialization;
- ``log MACs``, ``log params``: the exact costs the predictor is pretrained on today.

Reported: Spearman rank correlation of each statistic with the validation accuracy and with log
MACs (``scipy.stats.spearmanr``), and the time per candidate against the analytic cost count.

    python -m benchmarks.zero_cost
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np

from benchmarks import _harness
from benchmarks.predictor_quality import read_evals

DATA = _harness.REPO / "benchmarks" / "data"
CIFAR = Path(os.environ.get("OPTNAS_CIFAR10", _harness.REPO.parent / "shared" / "data" / "cifar10"))
SETS = {"cifar": DATA / "cifar_evals.csv", "digits": DATA / "digits_evals.csv"}


def synflow(arch: Any) -> float:
    """log SynFlow score of ``arch`` at initialization (seed 0)."""
    import torch

    from optnas.models import build
    from optnas.space import Recipe

    net = build(arch, Recipe(dropout=0.0), 10, seed=0).double().eval()
    with torch.no_grad():
        for p in net.state_dict().values():
            if p.is_floating_point():
                p.abs_()
    x = torch.ones(1, 3, arch.resolution, arch.resolution, dtype=torch.float64)
    net(x).sum().backward()
    score = sum(float((p * p.grad).detach().abs().sum()) for p in net.parameters() if p.grad is not None)
    return float(np.log(max(score, 1e-300)))


def naswot(arch: Any, images: Any) -> float:
    """NASWOT score: log |det K_H| of the activation patterns over ``images`` (resized to the arch's input)."""
    import torch

    from optnas.models import build
    from optnas.space import Recipe

    net = build(arch, Recipe(dropout=0.0), 10, seed=0).train()
    codes: list[Any] = []

    def hook(_m: Any, inp: Any, _out: Any) -> None:
        codes.append((inp[0].detach().flatten(1) > 0).double())

    handles = [
        m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Hardswish | torch.nn.ReLU)
    ]
    with torch.no_grad():
        net(torch.nn.functional.interpolate(images, size=arch.resolution, mode="bilinear", antialias=True))
    for h in handles:
        h.remove()
    c = torch.cat(codes, dim=1)
    kernel = c @ c.T + (1 - c) @ (1 - c).T
    return float(torch.linalg.slogdet(kernel)[1])


def batch(n: int = 32) -> tuple[Any, str]:
    """``n`` CIFAR-10 training images (every class), normalized; Gaussian noise if the data is absent."""
    import torch
    from PIL import Image

    files = sorted((CIFAR / "train").glob("*/*.jpg"))
    if not files:
        return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(0)), "Gaussian noise"
    step = max(1, len(files) // n)
    arrays = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0 for p in files[::step][:n]]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return (x - 0.5) / 0.25, f"{len(arrays)} CIFAR-10 training images"


def main(argv: list[str] | None = None) -> int:
    import torch
    from scipy.stats import spearmanr

    from optnas.cost import count_columns
    from optnas.space import preset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args(argv)
    torch.set_num_threads(1)
    images, source = batch()
    result: dict[str, Any] = {"naswot_batch": source, "sets": {}}
    rows = []
    for name, path in SETS.items():
        space = preset(name)
        cols, acc, _ = read_evals(path, space)
        archs = [a for a, _ in space.iter_candidates(cols)]
        t0 = time.perf_counter()
        cost = count_columns(space, cols, 10)
        t_cost = (time.perf_counter() - t0) / len(cols)
        stats: dict[str, np.ndarray] = {
            "log MACs": np.log(cost.macs.astype(float)),
            "log params": np.log(cost.params.astype(float)),
        }
        seconds: dict[str, float] = {"log MACs": t_cost, "log params": t_cost}
        for proxy, fn in (("synflow", synflow), ("naswot", lambda a: naswot(a, images))):
            t0 = time.perf_counter()
            stats[proxy] = np.array([fn(a) for a in archs])
            seconds[proxy] = (time.perf_counter() - t0) / len(archs)
        out = {}
        for stat, values in stats.items():
            with_acc = spearmanr(values, acc)
            out[stat] = {
                "spearman_accuracy": float(with_acc.statistic),
                "p_accuracy": float(with_acc.pvalue),
                "spearman_log_macs": float(spearmanr(values, stats["log MACs"]).statistic),
                "ms_per_candidate": seconds[stat] * 1000,
                "time_ratio_to_cost": seconds[stat] / max(t_cost, 1e-12),
            }
            rows.append(
                [
                    f"{name} ({len(acc)})",
                    stat,
                    f"{out[stat]['spearman_accuracy']:+.3f} (p={out[stat]['p_accuracy']:.2g})",
                    f"{out[stat]['spearman_log_macs']:+.3f}",
                    f"{out[stat]['ms_per_candidate']:.3g}",
                    f"{out[stat]['time_ratio_to_cost']:.3g}",
                ]
            )
        result["sets"][name] = {"n": len(acc), "stats": out}
    best = {
        n: max(s["stats"].items(), key=lambda kv: abs(kv[1]["spearman_accuracy"])) for n, s in result["sets"].items()
    }
    headline = "; ".join(
        f"{n}: strongest |rho| with accuracy {k} {v['spearman_accuracy']:+.3f}" for n, (k, v) in best.items()
    )
    body = [
        "Spearman rank correlation over the real evaluations (validation accuracy of each candidate's"
        f" training); NASWOT's mini-batch: {source}. Time per candidate, and its ratio to the analytic"
        " MACs/params count (vectorized over all candidates):",
        "",
        *_harness.md_table(
            ["evaluations", "statistic", "rho with accuracy", "rho with log MACs", "ms / candidate", "x cost count"],
            rows,
        ),
        "",
        "Both proxies score the architecture at initialization; the candidates of these joint spaces also"
        " differ in their training recipe, which no architecture statistic sees. A statistic can only make"
        " pretraining more useful than the costs if it ranks the accuracies better or adds what the costs"
        " lack; NASWOT's ranking is almost that of log MACs here.",
    ]
    _harness.write_report(
        "zero_cost",
        meta=_harness.metadata(_harness.command_line("benchmarks.zero_cost", argv)),
        result=result,
        body=body,
        title="Zero-cost proxies vs exact costs as free data (real evaluations)",
        headline=headline,
    )
    print(headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
